import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeDebianRepo, type DebianTestRepo } from '../../../test/helpers/debian-repo.ts';
import { testSourceContext } from '../../../test/servers/context.ts';
import { PermanentError } from '../../errors.ts';
import { UpstreamNotFoundError } from '../errors.ts';
import { debianSource } from './index.ts';

let repo: DebianTestRepo;
let cacheDir: string;
beforeAll(async () => {
  cacheDir = await mkdtemp(path.join(os.tmpdir(), 'kiln-debian-source-'));
  repo = await makeDebianRepo(
    [
      { name: 'hello', version: '2.10-3', arch: 'amd64' },
      { name: 'hello', version: '1:2.12-1~bpo1', arch: 'amd64' },
      { name: 'tzdata', version: '2024a-0+deb12u1', arch: 'all' },
      { name: 'python3', version: '3.13.5-1', suite: 'stable' },
      { name: 'python3', version: '3.11.2-1+b1', suite: 'oldstable' },
      { name: 'only-old', version: '1.0', suite: 'oldstable' },
    ],
    { suites: ['stable', 'oldstable'], archs: ['amd64'] },
  );
}, 120_000);
afterAll(async () => {
  await repo?.close();
  await rm(cacheDir, { recursive: true, force: true });
});

const item = (pkg: string, suite = 'stable') => ({
  recipe: pkg,
  ref: `${suite}/${pkg}`,
  upstream: { debian: { package: pkg, suite } },
});

describe('debian source', () => {
  it("reads a package's versions from the verified archive, and reuses them while InRelease is unchanged", async () => {
    const ctx = testSourceContext({
      KILN_DEBIAN_MIRROR: repo.url,
      KILN_DEBIAN_KEYRING: repo.keyring,
      KILN_CACHE_DIR: cacheDir,
    });
    const client = debianSource.open(ctx);
    const first = await client.fetch(item('hello'));
    expect(first.releases.map((r) => r.version).sort()).toEqual(['1:2.12-1~bpo1', '2.10-3']);
    expect(first.releases[0]?.checksums?.sha256).toMatch(/^[0-9a-f]{64}$/);
    const again = await client.fetch(item('hello'));
    expect(again.unchanged).toBe(true);
    expect((await client.fetch(item('tzdata'))).releases.map((r) => r.version)).toEqual([
      '2024a-0+deb12u1',
    ]);
    await expect(client.fetch(item('absent'))).rejects.toBeInstanceOf(UpstreamNotFoundError);
  });

  it('merges the versions of several suites, one recipe following two Debian releases', async () => {
    const ctx = testSourceContext({
      KILN_DEBIAN_MIRROR: repo.url,
      KILN_DEBIAN_KEYRING: repo.keyring,
      KILN_CACHE_DIR: cacheDir,
    });
    const upstream = { debian: { package: 'python3', suite: ['stable', 'oldstable'] } };
    const ref = debianSource.refOf(upstream);
    expect(ref).toBe('stable,oldstable/python3');
    const client = debianSource.open(ctx);
    const both = await client.fetch({ recipe: 'python', ref: ref ?? '', upstream });
    expect(both.releases.map((r) => r.version).sort()).toEqual(['3.11.2-1+b1', '3.13.5-1']);
    const onlyOld = await client.fetch({ recipe: 'x', ref: 'stable,oldstable/only-old', upstream });
    expect(onlyOld.releases.map((r) => r.version)).toEqual(['1.0']);
    await expect(
      client.fetch({ recipe: 'y', ref: 'stable,oldstable/absent', upstream }),
    ).rejects.toBeInstanceOf(UpstreamNotFoundError);
  });

  it('refuses an archive signed by another key', async () => {
    const ctx = testSourceContext({
      KILN_DEBIAN_MIRROR: repo.url,
      KILN_DEBIAN_KEYRING: repo.otherKeyring,
      KILN_CACHE_DIR: cacheDir,
    });
    await expect(debianSource.open(ctx).fetch(item('hello'))).rejects.toBeInstanceOf(
      PermanentError,
    );
  });
});
