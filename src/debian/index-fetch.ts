import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { KilnError, TransientError } from '../errors.ts';
import { fetchBytes } from './http.ts';
import type { ReleaseFile } from './release.ts';

/*
 * Fetching one Packages index the way apt does against a mirror that may be mid-sync: every
 * compressed variant InRelease lists, each by-hash first (those names never change under a
 * running sync) and then by its plain name, until one matches InRelease's size and SHA256. A
 * mirror whose copies all disagree is in the middle of an update, which passes: that is a
 * transient error, retried with backoff, never a reason to use an unverified file.
 */

/** What InRelease says about one suite, as far as fetching an index needs it. */
export interface IndexSource {
  /** Mirror root URL. */
  mirror: string;
  suite: string;
  acquireByHash: boolean;
  /** Path under `dists/<suite>/` → its SHA256 and size. */
  files: Map<string, ReleaseFile>;
}

/** A verified index: the name it was listed under (for its compression) and its bytes. */
export interface FetchedIndex {
  name: string;
  body: Buffer;
}

/**
 * The names of one component/arch index, in the order to try. gzip first, unlike apt: the index
 * is cached, and inflating a main index takes a tenth of the time xz does, which every
 * resolution pays. Only names InRelease lists can be verified, so only those are returned.
 */
export function indexNames(files: Map<string, ReleaseFile>, component: string, arch: string) {
  const base = `${component}/binary-${arch}/Packages`;
  return [`${base}.gz`, `${base}.xz`, base].filter((name) => files.has(name));
}

const sha256 = (data: Uint8Array): string => createHash('sha256').update(data).digest('hex');

/** The URLs to try for one listed name: its by-hash copy (when the archive has them), then plain. */
function urlsOf(source: IndexSource, name: string, file: ReleaseFile): string[] {
  const base = `${source.mirror}/dists/${source.suite}`;
  const plain = `${base}/${name}`;
  if (!source.acquireByHash) return [plain];
  return [`${base}/${path.posix.dirname(name)}/by-hash/SHA256/${file.sha256}`, plain];
}

/**
 * Returns one component/arch index that matches InRelease, from the content-addressed cache
 * (hashed again before use: a damaged or tampered copy is fetched again) or from the mirror.
 * Throws a TransientError naming the mirror when no listed copy matches.
 */
export async function fetchIndex(
  source: IndexSource,
  names: string[],
  cacheDir: string,
  signal?: AbortSignal,
): Promise<FetchedIndex> {
  for (const name of names) {
    const cached = await readCached(cacheDir, source.files.get(name));
    if (cached) return { name, body: cached };
  }
  const tried: string[] = [];
  for (const name of names) {
    const file = source.files.get(name);
    if (!file) continue;
    for (const url of urlsOf(source, name, file)) {
      const body = await fetchBytes(url, `index ${name} of ${source.suite}`, {
        signal,
        maxBytes: file.size,
      }).then(
        (r) => r.body,
        (error: unknown) => {
          // Any HTTP or network failure of one copy is a reason to try the next, as apt does.
          if (error instanceof KilnError) return error;
          throw error;
        },
      );
      if (body instanceof Error) {
        tried.push(`${url}: ${body.message.replace(/^.*: /, '')}`);
        continue;
      }
      const actual = sha256(body);
      if (actual === file.sha256 && body.length === file.size) {
        await writeCached(cacheDir, file.sha256, body);
        return { name, body };
      }
      tried.push(
        `${url}: sha256 ${actual.slice(0, 12)}… (${body.length} bytes), expected ${file.sha256.slice(0, 12)}… (${file.size} bytes)`,
      );
    }
  }
  throw new TransientError(
    `no copy of ${names[0]?.replace(/\.(gz|xz)$/, '') ?? 'the index'} of ${source.suite} at ${source.mirror} matches its InRelease; the mirror looks mid-sync (or its files were tampered with), retrying later. Tried: ${tried.join('; ')}`,
  );
}

function cachePath(cacheDir: string, hex: string): string {
  return path.join(cacheDir, 'debian', 'blobs', 'sha256', hex);
}

async function readCached(cacheDir: string, file: ReleaseFile | undefined) {
  if (!file) return undefined;
  const cached = await readFile(cachePath(cacheDir, file.sha256)).catch(() => undefined);
  return cached && cached.length === file.size && sha256(cached) === file.sha256
    ? cached
    : undefined;
}

async function writeCached(cacheDir: string, hex: string, body: Buffer): Promise<void> {
  const target = cachePath(cacheDir, hex);
  await mkdir(path.dirname(target), { recursive: true });
  const tmp = `${target}.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`;
  await writeFile(tmp, body);
  await rename(tmp, target);
}
