import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import type { Lockfile } from '../../src/debian/lockfile.ts';
import { createLogger } from '../../src/log.ts';
import { explainNanoUpdate } from '../../src/plan/nano-updates.ts';
import { changedDebianRecipes } from '../../src/watch/debian-suites.ts';
import { buildRequest } from '../helpers/requests.ts';
import { makeDebianRepo } from '../helpers/debian-repo.ts';
import { testRedis, uniqueName } from '../helpers/stack.ts';
import { testRecipe } from './fixtures.ts';

const log = createLogger({ level: 'silent' });

function lockfile(libssl: { version: string; suite: string; sha: string }): Lockfile {
  const pkg = (name: string, version: string, suite: string, sha: string) => ({
    name,
    version,
    arch: 'amd64',
    source: name,
    'source-version': version,
    suite,
    filename: `pool/main/${name}_${version}_amd64.deb`,
    size: 1000,
    sha256: sha.repeat(64).slice(0, 64),
  });
  return {
    'lockfile-version': 1,
    arch: 'amd64',
    suites: ['stable', 'stable-security'],
    packages: [
      pkg('base-files', '13.8', 'stable', 'a'),
      pkg('libssl3', libssl.version, libssl.suite, libssl.sha),
    ],
    excluded: [],
  };
}

describe('nano updates', () => {
  const redis = testRedis();
  afterAll(() => redis.disconnect());

  it('names the packages a lockfile change brings and queues a security-suite change at security priority', async () => {
    const prefix = uniqueName('nano');
    const first = buildRequest({
      recipe: 'python',
      stream: '3.13',
      epoch: 0,
      priority: 'upstream',
      reason: 'new upstream 3.13.5-1',
      resolved: {
        amd64: {
          arch: 'amd64',
          lockfile: lockfile({ version: '3.0.15-1', suite: 'stable', sha: 'b' }),
        },
      },
    });
    expect(await explainNanoUpdate(redis, prefix, first)).toEqual(first);

    const second = buildRequest({
      recipe: 'python',
      stream: '3.13',
      epoch: 1,
      priority: 'routine',
      reason: 'inputs changed for 3.13.5-1 (r0 → r1)',
      resolved: {
        amd64: {
          arch: 'amd64',
          lockfile: lockfile({ version: '3.0.16-1~deb13u1', suite: 'stable-security', sha: 'c' }),
        },
      },
    });
    const explained = await explainNanoUpdate(redis, prefix, second);
    expect(explained.priority).toBe('security');
    expect(explained.reason).toBe(
      'inputs changed for 3.13.5-1 (r0 → r1); amd64: libssl3 3.0.15-1 → 3.0.16-1~deb13u1 (stable-security)',
    );

    const third = buildRequest({
      recipe: 'python',
      stream: '3.13',
      epoch: 2,
      priority: 'routine',
      reason: 'inputs changed',
      resolved: {
        amd64: {
          arch: 'amd64',
          lockfile: lockfile({ version: '3.0.16-2', suite: 'stable', sha: 'd' }),
        },
      },
    });
    const routine = await explainNanoUpdate(redis, prefix, third);
    expect(routine.priority).toBe('routine');
    expect(routine.reason).toContain('libssl3 3.0.16-1~deb13u1 → 3.0.16-2 (stable)');
  });

  it('re-plans only the recipes whose suite’s InRelease changed; an unchanged suite is not a change', async () => {
    const repo = await makeDebianRepo(
      [
        { name: 'app', version: '1.0', suite: 'stable' },
        { name: 'libfoo', version: '1.0', suite: 'stable-security' },
      ],
      { archs: ['amd64'] },
    );
    try {
      const config = {
        ...loadConfig({}),
        queuePrefix: uniqueName('suites'),
        debianMirror: [repo.url],
        debianSecurityMirror: [repo.url],
        debianKeyring: repo.keyring,
      };
      const recipes = [
        {
          file: '/r/a.yaml',
          recipe: testRecipe(
            { suites: ['stable', 'stable-security'], packages: ['app'] },
            { name: 'a' },
          ),
        },
        {
          file: '/r/b.yaml',
          recipe: testRecipe({ suites: ['stable'], packages: ['app'] }, { name: 'b' }),
        },
      ];
      expect(await changedDebianRecipes(config, redis, recipes, log)).toEqual([]);
      expect(await changedDebianRecipes(config, redis, recipes, log)).toEqual([]);
      await repo.tamper('dists/stable-security/InRelease', (data) =>
        Buffer.concat([data, Buffer.from('\n')]),
      );
      expect(await changedDebianRecipes(config, redis, recipes, log)).toEqual(['a']);
      expect(await changedDebianRecipes(config, redis, recipes, log)).toEqual([]);
    } finally {
      await repo.close();
    }
  });
});
