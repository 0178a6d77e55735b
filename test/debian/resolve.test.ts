import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveLockfiles } from '../../src/build/debian/resolve.ts';
import { PermanentError } from '../../src/errors.ts';
import { makeDebianRepo, type DebianTestRepo } from '../helpers/debian-repo.ts';
import { testRecipe } from './fixtures.ts';

/*
 * Resolution against a real signed repository (dpkg-deb + apt-ftparchive + gpg): alternatives,
 * virtual packages, versioned Provides, version constraints, Multi-Arch qualifiers, the highest
 * version across suites, exclusions, and a missing dependency named in the error.
 */
describe('debian resolver against a local signed repository', () => {
  let repo: DebianTestRepo;
  let cacheDir: string;
  const settings = () => ({
    cacheDir,
    debianMirror: repo.url,
    debianSecurityMirror: repo.url,
    debianKeyring: repo.keyring,
  });

  beforeAll(async () => {
    cacheDir = await mkdtemp(path.join(os.tmpdir(), 'kiln-resolve-cache-'));
    repo = await makeDebianRepo(
      [
        { name: 'libc-fake', version: '1.0', multiArch: 'same' },
        { name: 'libfoo', version: '1.5' },
        { name: 'libfoo', version: '2.1' },
        { name: 'libfoo', version: '2.2', suite: 'stable-security' },
        { name: 'libold', version: '1.0' },
        { name: 'helper', version: '1.0', multiArch: 'allowed' },
        { name: 'postfix-fake', version: '3.0', provides: 'mail-transport-agent' },
        { name: 'provider-v', version: '1.0', provides: 'virt-v (= 2.5)' },
        { name: 'provider-unversioned', version: '1.0', provides: 'virt-v' },
        { name: 'shell-fake', version: '5.0' },
        { name: 'data-all', version: '1', arch: 'all' },
        {
          name: 'app',
          version: '1:1.0-1',
          preDepends: 'libc-fake (>= 1.0)',
          depends:
            'libold (>= 9) | libfoo (>= 2.0), mail-transport-agent, helper:any, virt-v (>= 2), shell-fake, data-all',
        },
        { name: 'broken', version: '1.0', depends: 'libc-fake, nonexistent (>= 1)' },
        { name: 'needs-new-libc', version: '1.0', depends: 'libc-fake (>= 3.0)' },
      ],
      { suites: ['stable', 'stable-security'] },
    );
  });
  afterAll(async () => {
    await repo?.close();
    await rm(cacheDir, { recursive: true, force: true });
  });

  it('resolves alternatives, virtual packages, versions and Multi-Arch; the security suite wins; exclusions are cut', async () => {
    const recipe = testRecipe({
      suites: ['stable', 'stable-security'],
      packages: ['app'],
      exclude: ['shell-fake'],
    });
    const lock = (await resolveLockfiles(recipe, '1.0', ['amd64'], settings())).get('amd64');
    const got = Object.fromEntries(
      (lock?.packages ?? []).map((p) => [p.name, `${p.version} ${p.suite}`]),
    );
    expect(got).toEqual({
      app: '1:1.0-1 stable',
      'data-all': '1 stable',
      helper: '1.0 stable',
      'libc-fake': '1.0 stable',
      libfoo: '2.2 stable-security',
      'postfix-fake': '3.0 stable',
      'provider-v': '1.0 stable',
    });
    expect(lock?.excluded).toEqual([{ package: 'shell-fake', 'needed-by': 'app' }]);
    expect(
      lock?.packages.every(
        (p) => /^[a-f0-9]{64}$/.test(p.sha256) && p.size > 0 && p.filename.startsWith('pool/'),
      ),
    ).toBe(true);
  });

  it('resolves the same lockfile for arm64 from arm64 and arch-all packages only', async () => {
    const recipe = testRecipe({ suites: ['stable'], packages: ['data-all'] });
    const lock = (await resolveLockfiles(recipe, '1.0', ['arm64'], settings())).get('arm64');
    expect(lock?.packages.map((p) => `${p.name}:${p.arch}`)).toEqual(['data-all:all']);
  });

  it('names the missing dependency', async () => {
    const recipe = testRecipe({ suites: ['stable'], packages: ['broken'] });
    const error = await resolveLockfiles(recipe, '1.0', ['amd64'], settings()).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(PermanentError);
    expect(String(error)).toMatch(/broken 1\.0 \(stable\) needs nonexistent \(>= 1\)/);
  });

  it('refuses an unsatisfiable version constraint, naming both sides', async () => {
    const recipe = testRecipe({ suites: ['stable'], packages: ['libc-fake', 'needs-new-libc'] });
    const error = await resolveLockfiles(recipe, '1.0', ['amd64'], settings()).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(PermanentError);
    expect(String(error)).toMatch(
      /needs-new-libc 1\.0 \(stable\) needs libc-fake \(>= 3\.0\), but libc-fake 1\.0/,
    );
  });

  it('refuses a requested package that does not exist', async () => {
    const recipe = testRecipe({ suites: ['stable'], packages: ['mail-transport-agent'] });
    await expect(resolveLockfiles(recipe, '1.0', ['amd64'], settings())).rejects.toThrow(
      /virtual package/,
    );
  });
});
