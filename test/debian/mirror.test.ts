import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { resolveLockfiles } from '../../src/build/debian/resolve.ts';
import { loadSuite } from '../../src/debian/archive.ts';
import { fetchIndex, indexNames } from '../../src/debian/index-fetch.ts';
import { pickSources } from '../../src/debian/sources.ts';
import { PermanentError, TransientError } from '../../src/errors.ts';
import { makeDebianRepo, type DebianTestRepo, type FakePackage } from '../helpers/debian-repo.ts';
import { buildInput, localDebianBuilder, testRecipe } from './fixtures.ts';

/*
 * Against a local repository that behaves like a real mirror: by-hash copies, a binary-all index
 * beside `No-Support-for-Architecture-all: Packages`, and, on demand, the states of a mirror in
 * the middle of a sync (plain indexes stale, by-hash copies missing). kiln must fetch as apt does.
 */
const packages: FakePackage[] = [
  { name: 'app', version: '1.0', depends: 'app-data' },
  { name: 'app-data', version: '1.0', arch: 'all', files: { 'usr/share/app/data': 'x\n' } },
];
const recipe = testRecipe({ suites: ['stable'], packages: ['app'] });

describe('fetching indexes from a mirror as apt does', () => {
  let repo: DebianTestRepo;
  let cacheDir: string;
  let workDir: string;
  const dirs: string[] = [];
  const settings = (mirror: string | string[] = repo.url) => ({
    cacheDir,
    debianMirror: mirror,
    debianKeyring: repo.keyring,
  });
  const names = (lock: Awaited<ReturnType<typeof resolveLockfiles>>) =>
    lock.get('amd64')?.packages.map((p) => `${p.name}:${p.arch}`);
  const indexRequests = () => repo.requests.filter((r) => /Packages|by-hash/.test(r));

  beforeAll(async () => {
    repo = await makeDebianRepo(packages, { archs: ['amd64'] });
  });
  let state = 0;
  beforeEach(async () => {
    // A new archive state and a fresh cache each time, so every test really fetches (the parsed
    // indexes are memoised by content); the previous state is what a stale mirror serves.
    await repo.update([...packages, { name: 'marker', version: String(++state) }]);
    cacheDir = await mkdtemp(path.join(os.tmpdir(), 'kiln-mirror-cache-'));
    workDir = await mkdtemp(path.join(os.tmpdir(), 'kiln-mirror-work-'));
    dirs.push(cacheDir, workDir);
    repo.faults.staleIndexes = false;
    repo.faults.byHashMissing = false;
    repo.requests.length = 0;
  });
  afterAll(async () => {
    await repo.close();
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  it('never requests binary-all when the Release says No-Support-for-Architecture-all: Packages', async () => {
    const lock = await resolveLockfiles(recipe, '1.0', ['amd64'], settings());
    // The arch-all package comes from the per-arch index, as on Debian's archive.
    expect(names(lock)).toEqual(['app:amd64', 'app-data:all']);
    expect(repo.requests.some((r) => r.includes('binary-all'))).toBe(false);
    // By-hash first: the plain name was not needed.
    expect(indexRequests()).toEqual([
      expect.stringMatching(/^\/dists\/stable\/main\/binary-amd64\/by-hash\/SHA256\/[a-f0-9]{64}$/),
    ]);
  });

  it('builds from a stale plain index when its by-hash copy is good', async () => {
    repo.faults.staleIndexes = true;
    const out = await localDebianBuilder(
      () => repo,
      () => cacheDir,
    ).build(buildInput(recipe, workDir));
    expect(out.archs[0]?.packages.map((p) => p.name)).toEqual(['app', 'app-data']);
  });

  it('tries the other compressed variants when by-hash is missing and one variant is stale', async () => {
    repo.faults.byHashMissing = true;
    repo.faults.staleIndexes = ['main/binary-amd64/Packages.gz'];
    const lock = await resolveLockfiles(recipe, '1.0', ['amd64'], settings());
    expect(names(lock)).toEqual(['app:amd64', 'app-data:all']);
    expect(indexRequests().map((r) => r.replace(/[a-f0-9]{64}/, '<hash>'))).toEqual([
      '/dists/stable/main/binary-amd64/by-hash/SHA256/<hash>',
      '/dists/stable/main/binary-amd64/Packages.gz',
      '/dists/stable/main/binary-amd64/by-hash/SHA256/<hash>',
      '/dists/stable/main/binary-amd64/Packages.xz',
    ]);
  });

  it('is a transient error naming the mirror when nothing matches, and builds once the mirror is whole', async () => {
    repo.faults.byHashMissing = true;
    repo.faults.staleIndexes = true;
    const error = await resolveLockfiles(recipe, '1.0', ['amd64'], settings()).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(TransientError);
    expect(String(error)).toContain(repo.url);
    expect(String(error)).toMatch(/mid-sync/);
    // Every variant InRelease lists was tried, by-hash and plain.
    expect(indexRequests()).toHaveLength(6);

    repo.faults.byHashMissing = false;
    repo.faults.staleIndexes = false;
    const out = await localDebianBuilder(
      () => repo,
      () => cacheDir,
    ).build(buildInput(recipe, workDir));
    expect(out.archs[0]?.packages.map((p) => p.name)).toEqual(['app', 'app-data']);
  });

  it('tries the configured mirrors in order, for indexes and for packages', async () => {
    const dead = 'http://127.0.0.1:9'; // the discard port: nothing listens there
    const missing = `${repo.url}/not-a-mirror`; // answers 404 for everything
    const out = await createBuilderWith([dead, missing, repo.url]).build(
      buildInput(recipe, workDir),
    );
    expect(out.archs[0]?.packages.map((p) => p.name)).toEqual(['app', 'app-data']);
    expect(repo.requests[0]).toBe('/not-a-mirror/dists/stable/InRelease');
    expect(repo.requests.some((r) => r.startsWith('/pool/'))).toBe(true);
  });

  it('keeps a bad signature permanent, whatever mirrors follow', async () => {
    const error = await resolveLockfiles(recipe, '1.0', ['amd64'], {
      cacheDir,
      debianMirror: [repo.url, repo.url],
      debianKeyring: repo.otherKeyring,
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PermanentError);
    expect(String(error)).toMatch(/bad OpenPGP signature/);
  });

  it('fetches a tampered cached index again', async () => {
    const [source] = pickSources(['stable'], settings(), []);
    if (!source) throw new Error('no source');
    const suite = await loadSuite(source);
    const { acquireByHash, files } = suite.release;
    const indexSource = { mirror: repo.url, suite: 'stable', acquireByHash, files };
    const listed = indexNames(suite.release.files, 'main', 'amd64');
    const first = await fetchIndex(indexSource, listed, cacheDir);
    const file = suite.release.files.get(first.name);
    const cached = path.join(cacheDir, 'debian', 'blobs', 'sha256', file?.sha256 ?? '');
    expect(await readFile(cached)).toEqual(first.body);

    await writeFile(cached, Buffer.concat([first.body.subarray(1), Buffer.from([0])]));
    repo.requests.length = 0;
    const again = await fetchIndex(indexSource, listed, cacheDir);
    expect(again.body).toEqual(first.body);
    expect(indexRequests()).toHaveLength(1);
    expect(await readFile(cached)).toEqual(first.body);

    // An intact cached copy costs no request at all.
    repo.requests.length = 0;
    await fetchIndex(indexSource, listed, cacheDir);
    expect(repo.requests).toEqual([]);
  });

  function createBuilderWith(mirrors: string[]) {
    return localDebianBuilder(
      () => ({ url: mirrors.join(','), keyring: repo.keyring }),
      () => cacheDir,
    );
  }
});

describe('an archive without No-Support-for-Architecture-all', () => {
  it('reads binary-all too, as apt does when the Release names `all`', async () => {
    const repo = await makeDebianRepo(packages, { archs: ['amd64'], noAllInArchIndexes: false });
    const cacheDir = await mkdtemp(path.join(os.tmpdir(), 'kiln-mirror-cache-'));
    try {
      const lock = await resolveLockfiles(recipe, '1.0', ['amd64'], {
        cacheDir,
        debianMirror: repo.url,
        debianKeyring: repo.keyring,
      });
      expect(lock.get('amd64')?.packages.map((p) => p.name)).toEqual(['app', 'app-data']);
      expect(repo.requests.filter((r) => r.includes('binary-all'))).toEqual([
        expect.stringMatching(/^\/dists\/stable\/main\/binary-all\/by-hash\/SHA256\//),
      ]);
    } finally {
      await repo.close();
      await rm(cacheDir, { recursive: true, force: true });
    }
  });
});
