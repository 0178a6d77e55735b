import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { CompactIndex, CompactIndexError, compactFormatVersion } from './compact-index.ts';

/*
 * Compact indexes on disk, beside the compressed index they were made from and keyed by that
 * file's sha256 (which the signed InRelease lists): `<cacheDir>/debian/compact/v<N>/<hex>`. A
 * file that is damaged, of another format version or made from another index is refused and
 * removed; the caller builds it again from the verified index.
 */

export function compactPath(cacheDir: string, sha256: string): string {
  return path.join(cacheDir, 'debian', 'compact', `v${compactFormatVersion}`, sha256);
}

/** The cached compact form of the index with this sha256, or undefined (absent or refused). */
export async function readCompact(
  cacheDir: string,
  sha256: string,
): Promise<CompactIndex | undefined> {
  const file = compactPath(cacheDir, sha256);
  try {
    // Lazily: only the lookup tables are read into memory (compact-index.ts).
    return CompactIndex.open(file, sha256);
  } catch (error) {
    if (error instanceof Error && 'code' in error && error.code === 'ENOENT') return undefined;
    if (!(error instanceof CompactIndexError)) throw error;
    await rm(file, { force: true });
    return undefined;
  }
}

export async function writeCompact(cacheDir: string, sha256: string, data: Buffer): Promise<void> {
  const target = compactPath(cacheDir, sha256);
  await mkdir(path.dirname(target), { recursive: true });
  const tmp = `${target}.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`;
  await writeFile(tmp, data);
  await rename(tmp, target);
}
