import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type * as openpgp from 'openpgp';
import { PermanentError } from '../errors.ts';
import { decompress, compressionOf } from './decompress.ts';
import { fetchBytes } from './http.ts';
import { loadKeyring } from './keyring.ts';
import { parsePackages, type PackageRecord } from './packages.ts';
import {
  checkSuite,
  parseRelease,
  verifyInRelease,
  type Release,
  type ReleaseFile,
} from './release.ts';
import type { SuiteSource } from './sources.ts';

/** What to read from the archive. */
export interface ArchiveRequest {
  sources: SuiteSource[];
  components: string[];
  archs: string[];
  /** Root of kiln's cache; indexes go to `<cacheDir>/debian/blobs/sha256/<hex>`. */
  cacheDir: string;
  signal?: AbortSignal;
}

/** One verified suite: its Release and where it came from. */
export interface LoadedSuite {
  source: SuiteSource;
  release: Release;
  /** sha256 of the InRelease bytes as fetched: changes whenever the archive does. */
  inReleaseSha256: string;
}

/** Every package of the requested suites, components and archs, each traced to a verified index. */
export interface ArchiveIndex {
  suites: LoadedSuite[];
  /** Per arch: every package available for it (its own arch and `all`). */
  packages: Map<string, PackageRecord[]>;
}

const keyringCache = new Map<string, Promise<openpgp.PublicKey[]>>();

function keysFor(keyring: string): Promise<openpgp.PublicKey[]> {
  let keys = keyringCache.get(keyring);
  if (!keys) {
    keys = loadKeyring(keyring);
    keyringCache.set(keyring, keys);
    keys.catch(() => keyringCache.delete(keyring));
  }
  return keys;
}

/** Fetches and verifies one suite's InRelease. */
export async function loadSuite(source: SuiteSource, signal?: AbortSignal): Promise<LoadedSuite> {
  const what = `${source.suite} at ${source.mirror}`;
  const url = `${source.mirror}/dists/${source.suite}/InRelease`;
  const { body } = await fetchBytes(url, `InRelease of ${source.suite}`, { signal });
  const signed = await verifyInRelease(body.toString('utf8'), await keysFor(source.keyring), what);
  const release = parseRelease(signed, what);
  checkSuite(release, source.suite, what);
  return { source, release, inReleaseSha256: createHash('sha256').update(body).digest('hex') };
}

/**
 * The index file names to try. gzip first, unlike apt: the index is cached, and inflating a
 * main index takes a tenth of the time xz does, which every resolution pays.
 */
function indexCandidates(component: string, arch: string): string[] {
  const base = `${component}/binary-${arch}/Packages`;
  return [`${base}.gz`, `${base}.xz`, base];
}

/**
 * Fetches one index the InRelease vouches for, checks its SHA256 and size, and keeps it in the
 * content-addressed cache (a cached copy is hashed again before use).
 */
async function fetchIndex(
  suite: LoadedSuite,
  name: string,
  file: ReleaseFile,
  cacheDir: string,
  signal?: AbortSignal,
): Promise<Buffer> {
  const cachePath = path.join(cacheDir, 'debian', 'blobs', 'sha256', file.sha256);
  const cached = await readFile(cachePath).catch(() => undefined);
  if (cached && sha256(cached) === file.sha256) return cached;
  const dir = path.posix.dirname(name);
  const base = `${suite.source.mirror}/dists/${suite.source.suite}`;
  // By-hash names never change under us while the archive is updated; apt prefers them too,
  // and like apt falls back to the plain name when a mirror lacks the by-hash copy.
  const plain = `${base}/${name}`;
  const what = `index ${name} of ${suite.source.suite}`;
  let url = plain;
  let body: Buffer | undefined;
  if (suite.release.acquireByHash) {
    url = `${base}/${dir}/by-hash/SHA256/${file.sha256}`;
    body = await fetchBytes(url, what, { signal }).then(
      (r) => r.body,
      (error: unknown) => {
        if (error instanceof PermanentError) return undefined;
        throw error;
      },
    );
  }
  if (body === undefined) {
    url = plain;
    body = (await fetchBytes(url, what, { signal })).body;
  }
  const actual = sha256(body);
  if (actual !== file.sha256 || body.length !== file.size) {
    throw new PermanentError(
      `index ${name} of ${suite.source.suite} from ${url} does not match its InRelease: sha256 ${actual} (${body.length} bytes), expected ${file.sha256} (${file.size} bytes); tampered index or inconsistent mirror`,
    );
  }
  await mkdir(path.dirname(cachePath), { recursive: true });
  const tmp = `${cachePath}.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`;
  await writeFile(tmp, body);
  await rename(tmp, cachePath);
  return body;
}

/**
 * Parsed indexes by content (sha256, suite and mirror): parsing a main Packages index takes
 * seconds, and one process (a worker, the test suite, a benchmark) resolves the same archive
 * state many times. Keyed by verified content, so a hit can never be stale; bounded.
 */
const parsedIndexes = new Map<string, Promise<PackageRecord[]>>();
const parsedIndexLimit = 12;

async function loadPackages(
  suite: LoadedSuite,
  component: string,
  arch: string,
  cacheDir: string,
  signal?: AbortSignal,
): Promise<PackageRecord[]> {
  const candidates = indexCandidates(component, arch);
  const name = candidates.find((c) => suite.release.files.has(c));
  const file = name ? suite.release.files.get(name) : undefined;
  if (!name || !file) {
    throw new PermanentError(
      `suite ${suite.source.suite} has no Packages index for ${component}/${arch} in its InRelease`,
    );
  }
  const key = `${file.sha256}\0${suite.source.suite}\0${suite.source.mirror}`;
  const memo = parsedIndexes.get(key);
  if (memo) return memo;
  const parsing = (async () => {
    const compressed = await fetchIndex(suite, name, file, cacheDir, signal);
    const text = (await decompress(compressed, compressionOf(name) ?? 'none', signal)).toString(
      'utf8',
    );
    return parsePackages(text, {
      suite: suite.source.suite,
      mirror: suite.source.mirror,
      indexName: `${suite.source.suite}/${name}`,
    });
  })();
  parsedIndexes.set(key, parsing);
  parsing.catch(() => parsedIndexes.delete(key));
  while (parsedIndexes.size > parsedIndexLimit) {
    const oldest = parsedIndexes.keys().next().value;
    if (oldest === undefined) break;
    parsedIndexes.delete(oldest);
  }
  return parsing;
}

/** Loads every requested suite, verifies it, and reads its Packages indexes for every arch. */
export async function loadArchive(request: ArchiveRequest): Promise<ArchiveIndex> {
  const suites = await Promise.all(request.sources.map((s) => loadSuite(s, request.signal)));
  const packages = new Map<string, PackageRecord[]>();
  for (const arch of request.archs) {
    const lists = await Promise.all(
      suites.flatMap((suite) =>
        request.components.flatMap((component) => {
          const own = loadPackages(suite, component, arch, request.cacheDir, request.signal);
          const all =
            suite.release.allInSeparateIndex &&
            indexCandidates(component, 'all').some((c) => suite.release.files.has(c))
              ? [loadPackages(suite, component, 'all', request.cacheDir, request.signal)]
              : [];
          return [own, ...all];
        }),
      ),
    );
    packages.set(arch, dedupe(lists.flat()));
  }
  return { suites, packages };
}

/** The same package version can sit in several indexes (binary-all and binary-<arch>). */
function dedupe(records: PackageRecord[]): PackageRecord[] {
  const seen = new Set<string>();
  return records.filter((r) => {
    const key = `${r.suite}\0${r.name}\0${r.version}\0${r.arch}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

function sha256(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}
