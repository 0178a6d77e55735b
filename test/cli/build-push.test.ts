import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hostArch } from '../../src/build/host-arch.ts';
import { getImage } from '../../src/catalog/read.ts';
import { createRedis } from '../../src/queue/connection.ts';
import type { DebianTestRepo } from '../helpers/debian-repo.ts';
import { envtoolRecipe, makeEnvtoolRepo } from '../helpers/envtool.ts';
import { testRedisUrl, testRegistryHost, uniqueName } from '../helpers/stack.ts';

/*
 * `kiln build --push` as a process, hermetic: a recipe of a local signed Debian repository (the
 * envtool fixture, test/helpers/envtool.ts; KILN_DEBIAN_MIRROR and KILN_DEBIAN_KEYRING), pushed
 * to the test registry with only KILN_REGISTRY and a signing key, then checked by `kiln verify`. With KILN_REDIS_URL as well,
 * the image is also in the catalog, as the queue's publish job records it.
 */

const version = '2.1-1';

interface BuildJson {
  recipe: string;
  version: string;
  epoch: number;
  published?: {
    digest: string;
    tags: string[];
    repository: string;
    signed: boolean;
    buildTag?: string;
  };
}

describe.skipIf(hostArch() !== 'amd64')('kiln build --push', () => {
  let repo: DebianTestRepo;
  let work: string;
  const redis = createRedis(testRedisUrl());

  beforeAll(async () => {
    repo = await makeEnvtoolRepo({ version });
    work = await mkdtemp(path.join(os.tmpdir(), 'kiln-build-push-'));
    await mkdir(path.join(work, 'recipes'));
    await writeFile(
      path.join(work, 'recipes', 'envtool.yaml'),
      envtoolRecipe({
        description: 'env from a local signed Debian repository (kiln build --push test)',
      }),
    );
  });
  afterAll(async () => {
    redis.disconnect();
    await repo?.close();
    if (work) await rm(work, { recursive: true, force: true });
  });

  // Nothing from the caller's KILN_* settings leaks in: every part is named here.
  const inherited = () =>
    Object.fromEntries(
      Object.entries(process.env).filter(
        ([k]) => !k.startsWith('KILN_') && k !== 'SOURCE_DATE_EPOCH',
      ),
    );
  const kiln = (args: string[], env: Record<string, string>) =>
    execa('node', ['bin/kiln.js', ...args], {
      env: {
        ...inherited(),
        KILN_RECIPES_DIR: path.join(work, 'recipes'),
        KILN_STATE_DIR: path.join(work, 'state'),
        KILN_CACHE_DIR: path.join(work, 'cache'),
        KILN_DEBIAN_MIRROR: repo.url,
        KILN_DEBIAN_SECURITY_MIRROR: repo.url,
        KILN_DEBIAN_KEYRING: repo.keyring,
        KILN_SIGNING_KEY: path.join(work, 'cosign.key'),
        KILN_LOG_LEVEL: 'warn',
        ...env,
      },
      extendEnv: false,
      reject: false,
      timeout: 600_000,
    });

  it('publishes with only a registry and a signing key (no Redis), and kiln verify accepts it', async () => {
    const keygen = await kiln(['keygen', '--out', path.join(work, 'cosign')], {});
    expect(keygen.exitCode, keygen.stderr).toBe(0);
    const namespace = uniqueName('build-push');
    const registry = `${testRegistryHost()}/${namespace}`;
    const build = await kiln(
      ['build', 'envtool', '--push', '--json', '--out', path.join(work, 'out-a')],
      { KILN_REGISTRY: registry },
    );
    expect(build.exitCode, build.stdout + build.stderr).toBe(0);
    const result = JSON.parse(build.stdout) as BuildJson;
    expect(result).toMatchObject({ recipe: 'envtool', version, epoch: 0 });
    expect(result.published).toMatchObject({ signed: true });
    expect(result.published?.tags).toEqual([`${version}-r0`, version, '2.1', '2', 'latest']);
    const digest = result.published?.digest ?? '';
    expect(digest).toMatch(/^sha256:[a-f0-9]{64}$/);

    const verify = await kiln(
      ['verify', `${registry}/envtool:latest`, '--key', path.join(work, 'cosign.pub'), '--json'],
      { KILN_REGISTRY: registry },
    );
    expect(verify.exitCode, verify.stdout + verify.stderr).toBe(0);
    expect(JSON.parse(verify.stdout)).toMatchObject({
      verified: true,
      digest,
      provenance: { upstreamVersion: version },
    });
  }, 900_000);

  it('with KILN_REDIS_URL, also records the published image in the catalog', async () => {
    const namespace = uniqueName('build-push');
    const prefix = uniqueName('build-push');
    const build = await kiln(
      ['build', 'envtool', '--push', '--json', '--out', path.join(work, 'out-b')],
      {
        KILN_REGISTRY: `${testRegistryHost()}/${namespace}`,
        KILN_REDIS_URL: testRedisUrl(),
        KILN_QUEUE_PREFIX: prefix,
      },
    );
    expect(build.exitCode, build.stdout + build.stderr).toBe(0);
    const result = JSON.parse(build.stdout) as BuildJson;
    const digest = result.published?.digest ?? '';
    expect(digest).toMatch(/^sha256:[a-f0-9]{64}$/);

    const image = await getImage(redis, prefix, 'envtool', { staleAfterMs: 86_400_000 });
    expect(image, 'catalog entry for envtool').toBeDefined();
    expect(image?.latest).toMatchObject({
      recipe: 'envtool',
      repository: 'envtool',
      version,
      epoch: 0,
      digest,
      tags: [`${version}-r0`, version, '2.1', '2', 'latest'],
      signed: true,
      archs: [expect.objectContaining({ arch: 'amd64' })],
    });
    expect(image?.latest.packages.map((p) => p.name).sort()).toEqual(['envtool', 'libc-fake']);
    // The publish's immutable build tag is recorded, and names the published image.
    expect(image?.latest.buildTag).toBe(result.published?.buildTag);
    expect(image?.latest.buildTag).toMatch(new RegExp(`^${version}-r0-\\d{12}$`));
    expect(image?.latest.variant).toBeUndefined();
  }, 900_000);
});
