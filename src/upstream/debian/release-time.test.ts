import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeDebianRepo, type DebianTestRepo } from '../../../test/helpers/debian-repo.ts';
import { testRedis, uniqueName } from '../../../test/helpers/stack.ts';
import { testSourceContext } from '../../../test/servers/context.ts';
import { planRecipe } from '../../plan/decide.ts';
import { recipeSchema } from '../../recipe/schema.ts';
import { withFirstSeen } from '../../plan/first-seen.ts';
import { selectVersions } from '../../versioning/select.ts';
import { redisValidatorCache } from '../cache.ts';
import { debianSource } from './index.ts';

/*
 * A Debian version's release time is the Date of the first InRelease kiln saw listing it. What
 * kiln's first look already lists has no known release time: first-seen, and marked so.
 */

const redis = testRedis();
let repo: DebianTestRepo;
let cacheDir: string;
const firstDate = new Date('2026-03-02T08:00:00Z');
const laterDate = new Date('2026-04-10T17:30:00Z');

beforeAll(async () => {
  cacheDir = await mkdtemp(path.join(os.tmpdir(), 'kiln-debian-release-time-'));
  repo = await makeDebianRepo([{ name: 'hello', version: '2.10-3', arch: 'amd64' }], {
    suites: ['stable'],
    archs: ['amd64'],
    binaryAll: false,
    date: firstDate,
  });
}, 120_000);
afterAll(async () => {
  await repo?.close();
  await rm(cacheDir, { recursive: true, force: true });
  redis.disconnect();
});

const item = {
  recipe: 'hello',
  ref: 'stable/hello',
  upstream: { debian: { package: 'hello', suite: 'stable' } },
};

describe('Debian release time', () => {
  it('is first-seen for what the first look lists, and the Date of the InRelease that added a version', async () => {
    const prefix = uniqueName('debian-release-time');
    const open = () =>
      debianSource.open(
        testSourceContext(
          {
            KILN_DEBIAN_MIRROR: repo.url,
            KILN_DEBIAN_KEYRING: repo.keyring,
            KILN_CACHE_DIR: cacheDir,
          },
          { cache: redisValidatorCache(redis, prefix) },
        ),
      );
    const seenAt = new Date('2026-05-01T00:00:00Z');
    const stamp = async (
      releases: Awaited<ReturnType<ReturnType<typeof open>['fetch']>>['releases'],
    ) => withFirstSeen(redis, prefix, 'hello', releases, seenAt);

    // First look: the archive's Date says when this InRelease was signed, not when 2.10-3 came.
    const first = await stamp((await open().fetch(item)).releases);
    expect(first).toEqual([
      expect.objectContaining({
        version: '2.10-3',
        publishedAt: seenAt.toISOString(),
        publishedAtSource: 'first-seen',
      }),
    ]);

    await repo.update(
      [
        { name: 'hello', version: '2.10-3', arch: 'amd64' },
        { name: 'hello', version: '2.12-1', arch: 'amd64' },
      ],
      { date: laterDate },
    );
    const client = open();
    const byVersion = async () =>
      new Map((await stamp((await client.fetch(item)).releases)).map((r) => [r.version, r]));
    const later = await byVersion();
    expect(later.get('2.12-1')).toMatchObject({
      publishedAt: laterDate.toISOString(),
      publishedAtSource: 'archive',
    });
    expect(later.get('2.10-3')).toMatchObject({
      publishedAt: seenAt.toISOString(),
      publishedAtSource: 'first-seen',
    });

    // A restarted watcher (a new client, the same Redis) keeps both, from its cache.
    const restarted = await stamp((await open().fetch(item)).releases);
    expect(new Map(restarted.map((r) => [r.version, r.publishedAtSource]))).toEqual(
      new Map([
        ['2.10-3', 'first-seen'],
        ['2.12-1', 'archive'],
      ]),
    );

    // A third InRelease keeps 2.12-1's time: it was released by the second one.
    await repo.update(
      [
        { name: 'hello', version: '2.12-1', arch: 'amd64' },
        { name: 'hello', version: '2.13-1', arch: 'amd64' },
      ],
      { date: new Date('2026-06-01T00:00:00Z') },
    );
    const third = await byVersion();
    expect(third.get('2.12-1')?.publishedAt).toBe(laterDate.toISOString());
    expect(third.get('2.13-1')?.publishedAt).toBe('2026-06-01T00:00:00.000Z');

    // The planner carries the marking into the build request (and so the catalog record).
    const recipe = recipeSchema.parse({
      name: 'hello',
      description: 'hello',
      license: 'GPL-3.0-or-later',
      upstream: { debian: { package: 'hello', suite: 'stable' } },
      versions: { scheme: 'debian' },
      build: { builder: 'dockerfile', archs: ['amd64'] },
    });
    const plan = (releases: typeof first) =>
      planRecipe({
        loaded: { file: '/recipes/hello.yaml', recipe },
        selection: selectVersions(
          releases,
          { versions: recipe.versions, upstream: recipe.upstream },
          seenAt,
        ),
        published: [],
        digestOf: () => 'sha256:d',
        now: seenAt,
      }).flatMap((d) => (d.kind === 'build' ? [d.request.upstream] : []));
    expect(plan(first)).toEqual([
      expect.objectContaining({ releasedAt: seenAt.toISOString(), releasedAtSource: 'first-seen' }),
    ]);
    expect(plan([...third.values()].filter((r) => r.version === '2.12-1'))).toEqual([
      expect.objectContaining({ releasedAt: laterDate.toISOString(), releasedAtSource: 'archive' }),
    ]);
  }, 120_000);
});
