import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveLockfiles } from '../../src/build/debian/resolve.ts';
import { lockfileDigest, type Lockfile } from '../../src/debian/lockfile.ts';
import { sha256Digest } from '../../src/oci/digest.ts';
import { loadRecipeFile } from '../../src/recipe/index.ts';
import type { Recipe } from '../../src/recipe/schema.ts';
import {
  closureFiles,
  makeDebianRepo,
  shippedClosures,
  shippedClosureSuites,
  type DebianTestRepo,
} from '../helpers/debian-repo.ts';
import { buildInput, localDebianBuilder } from './fixtures.ts';

/*
 * The shipped recipes (static, python 3.13 and 3.11), resolved and built against a local signed
 * repository whose packages carry the real trixie and bookworm relations of their closures
 * (shipped-closures.json: Depends, Pre-Depends, Provides, Multi-Arch, Source and the version in
 * each suite). The lockfiles and image digests below are what kiln produced before the Packages
 * index moved to a compact cached form: any change to how indexes are read, cached or resolved
 * that changes a byte of either fails here. The repository's packages are built with a fixed
 * SOURCE_DATE_EPOCH, so the same inputs give the same .deb files, lockfiles and images on every run.
 */

/** What kiln produced for each case before the compact index form (commit 3778d5d's resolver). */
const pinned = {
  static: {
    lockfile: 'pinned/static-amd64.lock.json',
    lockfileDigest: 'sha256:b2034d6a959d92cfef6d69c091900297ed1b7420d89e465e1148661c598298f4',
    index: 'sha256:c59cd099b8a5a73baa3841672101ee1c8ce8ac13434c16ad919117d9c9adfcf4',
  },
  'python-3.13': {
    lockfile: 'pinned/python-3.13-amd64.lock.json',
    lockfileDigest: 'sha256:0dcdd325249fbebc0afc491fc4c7e89539475fc0ede95e64e4a50f3b7272c961',
    index: 'sha256:a1b62a250b5f238fa91ba78796e246314ad2c0d04807ce154215f29230c15d50',
  },
  'python-3.11': {
    lockfile: 'pinned/python-3.11-amd64.lock.json',
    lockfileDigest: 'sha256:69cf5bd60570399154faee3b319585d5e9ebb35d05182e67b911e440e2c8c128',
    index: 'sha256:90c2843764ba2d4f7af71d0aff7297677bf89e21a38236dd926d2568b23998e0',
  },
} as const;

const cases = [
  { id: 'static', file: 'static.yaml', version: '13' },
  { id: 'python-3.13', file: 'python.yaml', version: '3.13' },
  { id: 'python-3.11', file: 'python.yaml', version: '3.11' },
] as const;

async function shippedRecipe(file: string): Promise<Recipe> {
  const loaded = await loadRecipeFile(path.join(import.meta.dirname, '../../recipes', file));
  if (!loaded.recipe) throw new Error(`recipe ${file} does not load`);
  // The packages are stand-ins: the recipe's tests (running python) cannot pass in them.
  return { ...loaded.recipe, test: [], build: { ...loaded.recipe.build, archs: ['amd64'] } };
}

describe('lockfiles and image digests of the shipped recipes (local repository)', () => {
  let repo: DebianTestRepo;
  let work: string;
  const cacheDirs: string[] = [];
  const newCache = async (): Promise<string> => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'kiln-pinned-cache-'));
    cacheDirs.push(dir);
    return dir;
  };

  beforeAll(async () => {
    work = await mkdtemp(path.join(os.tmpdir(), 'kiln-pinned-work-'));
    const records = await shippedClosures();
    repo = await makeDebianRepo(
      records.map((r) => ({ ...r, files: closureFiles(r) })),
      { suites: shippedClosureSuites, archs: ['amd64'] },
    );
  }, 300_000);
  afterAll(async () => {
    await repo?.close();
    for (const dir of cacheDirs) await rm(dir, { recursive: true, force: true });
    if (work) await rm(work, { recursive: true, force: true });
  });

  for (const c of cases) {
    it(`${c.id}: the lockfile and the image are byte-identical to the pinned ones, cold and warm`, async () => {
      const recipe = await shippedRecipe(c.file);
      const cacheDir = await newCache();
      const settings = {
        cacheDir,
        debianMirror: repo.url,
        debianSecurityMirror: repo.url,
        debianKeyring: repo.keyring,
      };
      // The readable copy (for the diff when this fails) and the digest of the exact bytes.
      const expected = JSON.parse(
        await readFile(path.join(import.meta.dirname, pinned[c.id].lockfile), 'utf8'),
      ) as Lockfile;
      // Cold (nothing cached), then warm (indexes cached): both give the pinned lockfile.
      for (const round of ['cold', 'warm']) {
        const lock = (await resolveLockfiles(recipe, c.version, ['amd64'], settings)).get('amd64');
        expect(lock, `${c.id} (${round})`).toEqual(expected);
        if (lock)
          expect(lockfileDigest(lock), `${c.id} (${round})`).toBe(pinned[c.id].lockfileDigest);
      }
      const builder = localDebianBuilder(
        () => repo,
        () => cacheDir,
      );
      const built = await builder.build(
        buildInput(recipe, path.join(work, c.id), { version: c.version }),
      );
      expect(built.index.digest).toBe(pinned[c.id].index);
      expect(sha256Digest(await readFile(path.join(built.layoutDir, 'lockfile-amd64.json')))).toBe(
        pinned[c.id].lockfileDigest,
      );
      // A second build with its own cache (packages and indexes fetched again) gives the same image.
      const otherCache = await newCache();
      const again = await localDebianBuilder(
        () => repo,
        () => otherCache,
      ).build(buildInput(recipe, path.join(work, `${c.id}-again`), { version: c.version }));
      expect(again.index.digest).toBe(built.index.digest);
    }, 180_000);
  }
});
