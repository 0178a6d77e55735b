import { createHash } from 'node:crypto';
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { createDebianBuilder } from '../../src/build/debian/index.ts';
import { resolveLockfiles } from '../../src/build/debian/resolve.ts';
import { keyringDigest, verifiedPath } from '../../src/debian/verified-cache.ts';
import { PermanentError, TransientError } from '../../src/errors.ts';
import { makeDebianRepo, type DebianTestRepo, type FakePackage } from '../helpers/debian-repo.ts';
import { buildInput, testRecipe } from './fixtures.ts';

/*
 * Nothing unverified is used: each attack is refused with an error naming what failed, permanent
 * except for indexes, whose mismatch a mirror mid-sync also shows (that one is retried).
 */
describe('debian trust chain', () => {
  const cleanup: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of cleanup.splice(0)) await c();
  });

  async function setup(
    packages: FakePackage[],
  ): Promise<{ repo: DebianTestRepo; cacheDir: string; workDir: string }> {
    const repo = await makeDebianRepo(packages, { archs: ['amd64'] });
    const cacheDir = await mkdtemp(path.join(os.tmpdir(), 'kiln-trust-cache-'));
    const workDir = await mkdtemp(path.join(os.tmpdir(), 'kiln-trust-work-'));
    cleanup.push(
      () => repo.close(),
      () => rm(cacheDir, { recursive: true, force: true }),
      () => rm(workDir, { recursive: true, force: true }),
    );
    return { repo, cacheDir, workDir };
  }

  const recipe = testRecipe({ suites: ['stable'], packages: ['hello'] });
  const hello: FakePackage = {
    name: 'hello',
    version: '1.0',
    files: { 'usr/share/hello/greeting': 'hello\n' },
  };

  async function failure(promise: Promise<unknown>): Promise<string> {
    const error = await promise.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(PermanentError);
    return String(error instanceof Error ? `${error.message}` : error);
  }

  it('refuses an InRelease signed by a key outside the keyring', async () => {
    const { repo, cacheDir } = await setup([hello]);
    const message = await failure(
      resolveLockfiles(recipe, '1.0', ['amd64'], {
        cacheDir,
        debianMirror: repo.url,
        debianKeyring: repo.otherKeyring,
      }),
    );
    expect(message).toMatch(/InRelease of stable .*bad OpenPGP signature/);
  });

  it('refuses an InRelease whose signed text was altered', async () => {
    const { repo, cacheDir } = await setup([hello]);
    await repo.tamper('dists/stable/InRelease', (d) =>
      Buffer.from(d.toString('utf8').replace(/^Codename: stable$/m, 'Codename: other')),
    );
    const message = await failure(
      resolveLockfiles(recipe, '1.0', ['amd64'], {
        cacheDir,
        debianMirror: repo.url,
        debianKeyring: repo.keyring,
      }),
    );
    expect(message).toMatch(/bad OpenPGP signature/);
  });

  it('uses no Packages index that does not match the InRelease, in any of its copies', async () => {
    const { repo, cacheDir } = await setup([hello]);
    const forged = (d: Buffer, unzip: (b: Buffer) => Buffer, zip: (b: Buffer) => Buffer) =>
      zip(Buffer.from(unzip(d).toString('utf8').replace('Version: 1.0', 'Version: 9.9')));
    const same = (b: Buffer) => b;
    const bin = 'dists/stable/main/binary-amd64';
    await repo.tamper(`${bin}/Packages.gz`, (d) => forged(d, gunzipSync, gzipSync));
    await repo.tamper(`${bin}/Packages`, (d) => forged(d, same, same));
    await repo.tamper(`${bin}/Packages.xz`, (d) => Buffer.concat([d, Buffer.from('x')]));
    repo.faults.byHashMissing = true;
    // Indistinguishable from a mirror mid-sync: transient, so the job retries; nothing is used.
    const error = await resolveLockfiles(recipe, '1.0', ['amd64'], {
      cacheDir,
      debianMirror: repo.url,
      debianKeyring: repo.keyring,
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TransientError);
    expect(String(error)).toMatch(
      /no copy of main\/binary-amd64\/Packages of stable at http:\/\/127\.0\.0\.1:\d+ matches its InRelease/,
    );
    // Only the InRelease's verification is kept (it is genuine); no index, checked or not.
    const kept = await readdir(cacheDir, { recursive: true });
    expect(kept.filter((f) => !/^debian(\/verified(\/.*)?)?$/.test(f))).toEqual([]);
  });

  it('refuses a .deb that does not match its index, and keeps nothing of it', async () => {
    const { repo, cacheDir, workDir } = await setup([hello]);
    const settings = { cacheDir, debianMirror: repo.url, debianKeyring: repo.keyring };
    const resolved = await createDebianBuilder({
      settings: () => settings,
      sourceDateEpoch: () => undefined,
    }).resolve?.(recipe, '', '1.0', 'amd64', new AbortController().signal);
    const pool = path.join('pool', 'stable');
    const [deb] = await readdir(path.join(repo.dir, pool));
    await repo.tamper(path.join(pool, deb ?? ''), (d) =>
      Buffer.concat([d.subarray(0, d.length - 1), Buffer.from([(d[d.length - 1] ?? 0) ^ 0xff])]),
    );
    const builder = createDebianBuilder({
      settings: () => settings,
      sourceDateEpoch: () => undefined,
    });
    const message = await failure(
      builder.build(buildInput(recipe, workDir, { resolved: resolved && { amd64: resolved } })),
    );
    expect(message).toMatch(
      /package hello 1\.0 from .* does not match its index: sha256 [a-f0-9]{64}/,
    );
    expect(await readdir(path.join(cacheDir, 'debian', 'blobs', 'sha256'))).toHaveLength(1); // the index only
  });

  it('refuses a .deb with a path-traversal entry', async () => {
    const { repo, cacheDir, workDir } = await setup([
      {
        name: 'hello',
        version: '1.0',
        rawDataEntries: [
          { name: './usr/', type: 'directory' },
          { name: './../../etc/evil', data: 'x' },
        ],
      },
    ]);
    const builder = createDebianBuilder({
      settings: () => ({ cacheDir, debianMirror: repo.url, debianKeyring: repo.keyring }),
      sourceDateEpoch: () => undefined,
    });
    const message = await failure(builder.build(buildInput(recipe, workDir)));
    expect(message).toMatch(/package hello: refusing unsafe path "\.\.\/\.\.\/etc\/evil"/);
  });

  it('refuses a .deb whose files would land through a symlink that leaves the root', async () => {
    const { repo, cacheDir, workDir } = await setup([
      {
        name: 'hello',
        version: '1.0',
        rawDataEntries: [
          { name: './usr/', type: 'directory' },
          { name: './usr/escape', type: 'symlink', linkname: '../../../etc' },
          { name: './usr/escape/evil', data: 'x' },
        ],
      },
    ]);
    const builder = createDebianBuilder({
      settings: () => ({ cacheDir, debianMirror: repo.url, debianKeyring: repo.keyring }),
      sourceDateEpoch: () => undefined,
    });
    const message = await failure(builder.build(buildInput(recipe, workDir)));
    expect(message).toMatch(
      /package hello: refusing usr\/escape\/evil, the symlink usr\/escape -> \.\.\/\.\.\/\.\.\/etc escapes the root/,
    );
  });
  // Last: these leave the genuine index in this process's compact memo, which the tests
  // above, about what a mirror serves, must not find.
  describe('verified InReleases kept across processes (verified-cache.ts)', () => {
    /** The cache entry of the repository's current InRelease read through `keyring`. */
    async function entryOf(repo: DebianTestRepo, cacheDir: string, keyring: string) {
      const bytes = await readFile(path.join(repo.dir, 'dists', 'stable', 'InRelease'));
      const sha = createHash('sha256').update(bytes).digest('hex');
      return verifiedPath(cacheDir, sha, await keyringDigest(keyring));
    }
    const resolveWith = (repo: DebianTestRepo, cacheDir: string, keyring = repo.keyring) =>
      resolveLockfiles(recipe, '1.0', ['amd64'], {
        cacheDir,
        debianMirror: repo.url,
        debianKeyring: keyring,
      });
    /** Another cache folder holding `entry` as `content` (another process's view). */
    async function otherCache(entry: string, from: string, content?: string): Promise<string> {
      const dir = await mkdtemp(path.join(os.tmpdir(), 'kiln-trust-cache-'));
      cleanup.push(() => rm(dir, { recursive: true, force: true }));
      const target = path.join(dir, path.relative(from, entry));
      await mkdir(path.dirname(target), { recursive: true });
      if (content === undefined) await copyFile(entry, target);
      else await writeFile(target, content);
      return dir;
    }

    it('keeps a verification and uses it for the same bytes and keyring', async () => {
      const { repo, cacheDir } = await setup([hello]);
      await resolveWith(repo, cacheDir);
      const entry = await entryOf(repo, cacheDir, repo.keyring);
      expect((await readFile(entry, 'utf8')).split('\n')[0]).toMatch(
        /^kiln verified InRelease v1 [a-f0-9]{64}$/,
      );
      const other = await otherCache(entry, cacheDir);
      const copy = path.join(other, path.relative(cacheDir, entry));
      const before = await stat(copy);
      expect((await resolveWith(repo, other)).get('amd64')?.packages.map((p) => p.name)).toEqual([
        'hello',
      ]);
      // A hit reads the entry; a miss would verify again and write a new file.
      expect((await stat(copy)).ino).toBe(before.ino);
    });

    it('verifies again when the InRelease changed: an altered one is still refused', async () => {
      const { repo, cacheDir } = await setup([hello]);
      await resolveWith(repo, cacheDir);
      await repo.tamper('dists/stable/InRelease', (d) =>
        Buffer.from(d.toString('utf8').replace(/^Codename: stable$/m, 'Codename: other')),
      );
      expect(await failure(resolveWith(repo, cacheDir))).toMatch(/bad OpenPGP signature/);
    });

    it('verifies again through another keyring: a key outside it is refused', async () => {
      const { repo, cacheDir } = await setup([hello]);
      await resolveWith(repo, cacheDir);
      expect(await failure(resolveWith(repo, cacheDir, repo.otherKeyring))).toMatch(
        /bad OpenPGP signature/,
      );
    });

    it.each([
      ['garbage', 'not a verification\n'],
      [
        'a text that does not match its header',
        `kiln verified InRelease v1 ${'0'.repeat(64)}\nSuite: x\n`,
      ],
      ['an empty file', ''],
    ])('refuses a damaged entry (%s), verifies again and rewrites it', async (_, content) => {
      const { repo, cacheDir } = await setup([hello]);
      await resolveWith(repo, cacheDir);
      const entry = await entryOf(repo, cacheDir, repo.keyring);
      const good = await readFile(entry, 'utf8');
      const other = await otherCache(entry, cacheDir, content);
      await resolveWith(repo, other);
      expect(await readFile(path.join(other, path.relative(cacheDir, entry)), 'utf8')).toBe(good);
    });
  });
});
