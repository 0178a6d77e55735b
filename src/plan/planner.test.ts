import { createHash } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { testRedis, uniqueName } from '../../test/helpers/stack.ts';
import type { Builder } from '../build/types.ts';
import type { Lockfile } from '../debian/lockfile.ts';
import { createLogger } from '../log.ts';
import { redisKeys } from '../queue/keys.ts';
import type { LoadedRecipe } from '../recipe/load.ts';
import { recipeSchema } from '../recipe/schema.ts';
import { catalogCandidates } from './candidates.ts';
import { redisFirstSeen } from './first-seen.ts';
import { lockfileNanoUpdates } from './nano-updates.ts';
import { createPlanner } from './planner.ts';
import { publishedStateOf, type PublishedImage } from './published-state.ts';
import { givenPublished } from './registry-published.ts';
import { releasesFor } from './releases-for.ts';

const loaded: LoadedRecipe = {
  file: '/recipes/base.yaml',
  recipe: recipeSchema.parse({
    name: 'base',
    description: 'base',
    license: 'MIT',
    upstream: { debian: { package: 'base-files', suite: 'trixie' } },
    versions: { scheme: 'debian' },
    build: {
      builder: 'debian',
      archs: ['amd64'],
      contents: { suites: ['trixie', 'trixie-security'], packages: ['base-files'] },
    },
  }),
};

function lockfile(libssl: string, suite: string): Lockfile {
  const pkg = (name: string, version: string, from: string) => ({
    name,
    version,
    arch: 'amd64',
    source: name,
    'source-version': version,
    suite: from,
    filename: `pool/main/${name}_${version}_amd64.deb`,
    size: 1000,
    sha256: createHash('sha256').update(`${name}@${version}`).digest('hex'),
  });
  return {
    'lockfile-version': 1,
    arch: 'amd64',
    suites: ['trixie', 'trixie-security'],
    packages: [pkg('base-files', '13.8', 'trixie'), pkg('libssl3', libssl, suite)],
    excluded: [],
  };
}

describe('the planner', () => {
  const redis = testRedis();
  afterAll(() => redis.disconnect());

  it('returns final decisions: a security nano update says which package and jumps the queue; first-seen and candidates recorded', async () => {
    const prefix = uniqueName('planner');
    let lock = lockfile('3.0.15-1', 'trixie');
    const debian: Builder = {
      id: 'debian',
      version: 'test',
      resolve: async (_recipe, _file, _version, arch) => ({
        arch,
        lockfile: lock,
        lockfileDigest: `sha256:${lock.packages.map((p) => p.version).join(',')}`,
      }),
      build: () => Promise.reject(new Error('not built here')),
    };
    let published: PublishedImage[] = [];
    const planner = createPlanner({
      builders: new Map([['debian', debian]]),
      log: createLogger({ level: 'silent' }),
      ports: {
        published: { read: async () => publishedStateOf({ base: published }) },
        firstSeen: redisFirstSeen(redis, prefix),
        candidates: catalogCandidates(redis, prefix),
        nanoUpdates: lockfileNanoUpdates(redis, prefix),
      },
    });
    const releases = () => releasesFor(() => [{ version: '13.8', tag: '13.8', prerelease: false }]);

    const [first] = await planner.plan([loaded], releases());
    const d1 = first?.decisions[0];
    if (d1?.kind !== 'build') throw new Error(`expected a build, got ${d1?.kind}`);
    expect(d1.request).toMatchObject({
      epoch: 0,
      priority: 'upstream',
      reason: 'new upstream 13.8',
    });
    expect(d1.request.upstream.releasedAtSource).toBe('first-seen');
    expect(await redis.hkeys(redisKeys(prefix).catalog.of('base').upstream)).toEqual(['13.8']);

    published = [
      {
        version: '13.8',
        epoch: 0,
        inputsDigest: d1.request.inputsDigest,
        tags: [],
        digest: 'sha256:0',
      },
    ];
    lock = lockfile('3.0.16-1~deb13u1', 'trixie-security');
    const [second] = await planner.plan([loaded], releases());
    const d2 = second?.decisions[0];
    if (d2?.kind !== 'build') throw new Error(`expected a build, got ${d2?.kind}`);
    expect(d2.request.epoch).toBe(1);
    expect(d2.request.priority).toBe('security');
    expect(d2.reason).toBe(
      'inputs changed for 13.8 (r0 → r1); amd64: libssl3 3.0.15-1 → 3.0.16-1~deb13u1 (trixie-security)',
    );
    expect(d2.request.reason).toBe(d2.reason);
  });

  it('without the memory ports (kiln plan) writes nothing and leaves the reason as decided', async () => {
    const prefix = uniqueName('planner-dry');
    const planner = createPlanner({
      builders: new Map(),
      log: createLogger({ level: 'silent' }),
      ports: { published: givenPublished(publishedStateOf({})) },
    });
    const [plan] = await planner.plan(
      [loaded],
      releasesFor(() => [{ version: '13.8', tag: '13.8', prerelease: false }]),
    );
    expect(plan?.decisions[0]).toMatchObject({ kind: 'build', reason: 'new upstream 13.8' });
    expect(await redis.keys(`${prefix}:*`)).toEqual([]);
  });
});
