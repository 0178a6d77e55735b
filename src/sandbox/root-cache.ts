import { createHash, randomUUID } from 'node:crypto';
import {
  lstat,
  mkdir,
  readdir,
  readFile,
  readlink,
  rename,
  rm,
  utimes,
  writeFile,
} from 'node:fs/promises';
import path from 'node:path';
import { unpackLayout } from './unpack.ts';

/*
 * Unpacked image roots for tests, kept by manifest digest under
 * `<cacheDir>/sandbox/roots/v1/<manifest hex>/`: `root/` (the image, as unpackLayout lays it out,
 * with the mount points bwrap needs) and `fingerprint` (the sha256 of every entry's path, type,
 * mode, size, mtime and link target, taken right after unpacking). The manifest digest covers
 * every layer's bytes, so the same digest means the same tree; a warm build's tests then start
 * without gunzipping and writing the image again.
 *
 * Tests only ever see the root read-only (bwrap --ro-bind) and get their own /tmp, so a run
 * cannot change an entry. Before each use the tree is walked again and its fingerprint compared:
 * a file removed, added, truncated, re-moded or touched makes the entry stale, and it is removed
 * and unpacked again. Like the compact index's checksum this catches damage, not a deliberate
 * rewrite that keeps sizes and times: the cache folder must be writable only by kiln.
 */

const formatVersion = 1;
/** Roots kept besides the ones used in the last {@link keepRecentMs}. */
const keepRoots = 6;
const keepRecentMs = 15 * 60_000;

export function rootCacheDir(cacheDir: string): string {
  return path.join(cacheDir, 'sandbox', 'roots', `v${formatVersion}`);
}

/** The sha256 of a tree's entries (not their contents): what a use checks before trusting it. */
export async function treeFingerprint(root: string): Promise<string> {
  const hash = createHash('sha256');
  const walk = async (dir: string, rel: string): Promise<void> => {
    const names = (await readdir(dir)).sort();
    for (const name of names) {
      const full = path.join(dir, name);
      const s = await lstat(full);
      const kind = s.isDirectory() ? 'd' : s.isSymbolicLink() ? 'l' : s.isFile() ? 'f' : 'o';
      const target = kind === 'l' ? await readlink(full) : '';
      hash.update(
        `${rel}${name}\0${kind}\0${s.mode}\0${kind === 'd' ? 0 : s.size}\0${Math.trunc(s.mtimeMs)}\0${target}\n`,
      );
      if (kind === 'd') await walk(full, `${rel}${name}/`);
    }
  };
  await walk(root, '');
  return hash.digest('hex');
}

/** The cached root of `manifestDigest` if it is there and its fingerprint still matches. */
async function usable(entry: string): Promise<string | undefined> {
  const recorded = await readFile(path.join(entry, 'fingerprint'), 'utf8').catch(() => undefined);
  if (!recorded) return undefined;
  const root = path.join(entry, 'root');
  const now = await treeFingerprint(root).catch(() => undefined);
  if (now !== recorded.trim()) return undefined;
  const t = new Date();
  await utimes(path.join(entry, 'fingerprint'), t, t).catch(() => {});
  return root;
}

/**
 * The unpacked root of an image, for tests: from the cache when an intact copy is there,
 * otherwise unpacked (unpackLayout: digests checked, paths confined) and kept. Never written to
 * afterwards; the caller mounts it read-only and gives the tests their own /tmp.
 */
export async function cachedRoot(
  layoutDir: string,
  manifestDigest: string,
  cacheDir: string,
): Promise<string> {
  const hex = /^sha256:([a-f0-9]{64})$/.exec(manifestDigest)?.[1];
  if (!hex) throw new Error(`not a sha256 manifest digest: ${manifestDigest}`);
  const dir = rootCacheDir(cacheDir);
  const entry = path.join(dir, hex);
  const hit = await usable(entry);
  if (hit) return hit;
  await rm(entry, { recursive: true, force: true });
  const tmp = path.join(dir, `.tmp-${hex}-${randomUUID()}`);
  try {
    const root = path.join(tmp, 'root');
    await unpackLayout(layoutDir, manifestDigest, root);
    // bwrap mounts /proc, /dev and /tmp over the read-only root: the mount points must exist.
    for (const mount of ['proc', 'dev', 'tmp'])
      await mkdir(path.join(root, mount), { recursive: true });
    await writeFile(path.join(tmp, 'fingerprint'), `${await treeFingerprint(root)}\n`);
    await rename(tmp, entry).catch(async (error: unknown) => {
      // Another build of the same image got there first: use its copy if it is intact.
      if (!(await usable(entry))) throw error;
    });
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
  await evictOld(dir, hex);
  const root = await usable(entry);
  if (!root) throw new Error(`unpacked root of ${manifestDigest} changed while it was cached`);
  return root;
}

/** Drops roots beyond the newest {@link keepRoots} that no build used recently. */
async function evictOld(dir: string, keep: string): Promise<void> {
  const names = (await readdir(dir).catch(() => [] as string[])).filter((n) =>
    /^[a-f0-9]{64}$/.test(n),
  );
  const used = await Promise.all(
    names.map(async (n) => ({
      n,
      at: (await lstat(path.join(dir, n, 'fingerprint')).catch(() => undefined))?.mtimeMs ?? 0,
    })),
  );
  used.sort((a, b) => b.at - a.at);
  for (const { n, at } of used.slice(keepRoots)) {
    if (n === keep || Date.now() - at < keepRecentMs) continue;
    await rm(path.join(dir, n), { recursive: true, force: true });
  }
}
