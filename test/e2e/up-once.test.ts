import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import { testCacheDir, testRegistryHost, uniqueName } from '../helpers/stack.ts';

/*
 * The demo's path, end to end on real parts: `kiln up --once --verify static` with no
 * KILN_REDIS_URL (kiln starts its own redis-server), building recipes/static.yaml from the real
 * Debian archive this host's apt sources name, pushing to the test registry, signing and
 * verifying. Then a consumer's tool, skopeo, inspects what was pushed.
 */
describe('kiln up --once (the demo)', () => {
  const dirs: string[] = [];
  afterAll(async () => {
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  it('builds, pushes, signs and verifies the static image; skopeo inspects it', async () => {
    const state = await mkdtemp(path.join(os.tmpdir(), 'kiln-up-'));
    dirs.push(state);
    const namespace = uniqueName('demo');
    const env = {
      ...process.env,
      KILN_STATE_DIR: state,
      KILN_CACHE_DIR: testCacheDir(),
      KILN_REGISTRY: `${testRegistryHost()}/${namespace}`,
      KILN_REDIS_URL: '',
      KILN_LOG_LEVEL: 'warn',
    };
    const run = await execa('node', ['bin/kiln.js', 'up', '--once', '--verify', 'static'], {
      env,
      reject: false,
      timeout: 600_000,
    });
    expect(run.stderr).not.toMatch(/"level":50/);
    expect(run.exitCode, run.stdout + run.stderr).toBe(0);
    expect(run.stdout).toMatch(/static\s+default\s+published/);
    const verified = /verified\s+(\S+@sha256:[a-f0-9]{64})/.exec(run.stdout);
    expect(verified, run.stdout).not.toBeNull();
    const reference = verified?.[1] ?? '';
    expect(reference.startsWith(`${testRegistryHost()}/${namespace}/static@`)).toBe(true);

    const inspected = await execa('skopeo', [
      'inspect',
      '--tls-verify=false',
      '--raw',
      `docker://${reference}`,
    ]);
    const index = JSON.parse(inspected.stdout) as {
      mediaType: string;
      manifests: { platform: { architecture: string } }[];
    };
    expect(index.mediaType).toBe('application/vnd.oci.image.index.v1+json');
    expect(index.manifests.map((m) => m.platform.architecture).sort()).toEqual(['amd64', 'arm64']);
    const amd64 = await execa('skopeo', [
      'inspect',
      '--tls-verify=false',
      '--override-arch',
      'amd64',
      `docker://${testRegistryHost()}/${namespace}/static:latest`,
    ]);
    expect(JSON.parse(amd64.stdout)).toMatchObject({ Architecture: 'amd64', Os: 'linux' });

    // A second run finds everything published with the same inputs: nothing is rebuilt.
    const again = await execa('node', ['bin/kiln.js', 'up', '--once', 'static'], {
      env,
      reject: false,
      timeout: 600_000,
    });
    expect(again.exitCode, again.stdout + again.stderr).toBe(0);
    expect(again.stdout).toMatch(/static\s+default\s+up-to-date/);
  }, 900_000);
});
