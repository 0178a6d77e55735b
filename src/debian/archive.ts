import { createHash } from 'node:crypto';
import type * as openpgp from 'openpgp';
import { PermanentError, TransientError } from '../errors.ts';
import { decompress, compressionOf } from './decompress.ts';
import { fetchBytes, HttpRefusal } from './http.ts';
import { fetchIndex, indexNames } from './index-fetch.ts';
import { loadKeyring } from './keyring.ts';
import { parsePackages, type PackageRecord } from './packages.ts';
import { checkSuite, parseRelease, verifyInRelease, type Release } from './release.ts';
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

/** Fetches and verifies one suite's InRelease from `source.mirror`. */
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
 * The architectures whose indexes hold the packages of `arch`. apt reads `binary-all` only when
 * the Release names `all` and does not say `No-Support-for-Architecture-all: Packages`, which
 * means the per-arch indexes list every `Architecture: all` package already.
 */
function indexArchs(release: Release, arch: string): string[] {
  return !release.allInArchIndexes && release.architectures.includes('all')
    ? [arch, 'all']
    : [arch];
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
  const { release, source } = suite;
  const names = indexNames(release.files, component, arch);
  const first = names[0] ? release.files.get(names[0]) : undefined;
  if (!first) {
    throw new PermanentError(
      `suite ${source.suite} has no Packages index for ${component}/${arch} in its InRelease`,
    );
  }
  const key = `${first.sha256}\0${source.suite}\0${source.mirror}`;
  const memo = parsedIndexes.get(key);
  if (memo) return memo;
  const parsing = (async () => {
    const index = await fetchIndex(
      {
        mirror: source.mirror,
        suite: source.suite,
        acquireByHash: release.acquireByHash,
        files: release.files,
      },
      names,
      cacheDir,
      signal,
    );
    const text = await decompress(index.body, compressionOf(index.name) ?? 'none', signal);
    return parsePackages(text.toString('utf8'), {
      suite: source.suite,
      mirror: source.mirror,
      indexName: `${source.suite}/${index.name}`,
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

/** One suite from one mirror: its verified InRelease and, per arch, the packages of its indexes. */
async function loadSuiteFrom(
  source: SuiteSource,
  request: ArchiveRequest,
): Promise<{ suite: LoadedSuite; packages: Map<string, PackageRecord[]> }> {
  const suite = await loadSuite(source, request.signal);
  const packages = new Map<string, PackageRecord[]>();
  for (const arch of request.archs) {
    const lists = await Promise.all(
      request.components.flatMap((component) =>
        indexArchs(suite.release, arch).map((a) =>
          loadPackages(suite, component, a, request.cacheDir, request.signal),
        ),
      ),
    );
    packages.set(arch, lists.flat());
  }
  return { suite, packages };
}

/**
 * {@link loadSuiteFrom} over the source's mirrors in order: a mirror that cannot be reached,
 * answers an HTTP error or is mid-sync is passed over for the next. What the signature or the
 * Release itself refuses is permanent and ends the search, as it does for apt.
 */
async function loadSuiteFromMirrors(source: SuiteSource, request: ArchiveRequest) {
  const reasons: string[] = [];
  let last: unknown;
  for (const mirror of source.mirrors.length > 0 ? source.mirrors : [source.mirror]) {
    try {
      return await loadSuiteFrom({ ...source, mirror }, request);
    } catch (error) {
      if (!(error instanceof TransientError || error instanceof HttpRefusal)) throw error;
      last = error;
      reasons.push(error.message);
    }
  }
  if (reasons.length <= 1) throw last;
  throw new TransientError(
    `suite ${source.suite}: no mirror could serve it (${reasons.join(' | ')})`,
    { cause: last },
  );
}

/** Loads every requested suite, verifies it, and reads its Packages indexes for every arch. */
export async function loadArchive(request: ArchiveRequest): Promise<ArchiveIndex> {
  const loaded = await Promise.all(request.sources.map((s) => loadSuiteFromMirrors(s, request)));
  const packages = new Map<string, PackageRecord[]>();
  for (const arch of request.archs) {
    packages.set(arch, dedupe(loaded.flatMap((l) => l.packages.get(arch) ?? [])));
  }
  return { suites: loaded.map((l) => l.suite), packages };
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
