import { createHash } from 'node:crypto';
import type * as openpgp from 'openpgp';
import { PermanentError, TransientError } from '../errors.ts';
import { decompress, compressionOf } from './decompress.ts';
import { fetchBytes, HttpRefusal } from './http.ts';
import { fetchIndex, indexNames } from './index-fetch.ts';
import { loadKeyring } from './keyring.ts';
import { buildCompactIndex } from './compact-build.ts';
import { readCompact, writeCompact } from './compact-cache.ts';
import { CompactIndex } from './compact-index.ts';
import { PackageSet, type IndexOrigin } from './package-set.ts';
import { checkSuite, parseRelease, verifyInRelease, type Release } from './release.ts';
import type { SuiteSource } from './sources.ts';
import { keyringDigest, readVerified, writeVerified } from './verified-cache.ts';

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
  /** Per arch: every package available for it (its own arch and `all`), read on demand. */
  packages: Map<string, PackageSet>;
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

/**
 * Fetches and verifies one suite's InRelease from `source.mirror`. With `cacheDir`, a
 * verification already made for these exact bytes and this keyring is read from there
 * (verified-cache.ts) instead of checking the signature again.
 */
export async function loadSuite(
  source: SuiteSource,
  signal?: AbortSignal,
  cacheDir?: string,
): Promise<LoadedSuite> {
  const what = `${source.suite} at ${source.mirror}`;
  const url = `${source.mirror}/dists/${source.suite}/InRelease`;
  const { body } = await fetchBytes(url, `InRelease of ${source.suite}`, { signal });
  const inReleaseSha256 = createHash('sha256').update(body).digest('hex');
  const signed = await verifiedText(body, inReleaseSha256, source.keyring, what, cacheDir);
  // Parsed and checked every time: Valid-Until is about now, not about when it was verified.
  const release = parseRelease(signed, what);
  checkSuite(release, source.suite, what);
  return { source, release, inReleaseSha256 };
}

/**
 * The signed text of an InRelease, verified once per (bytes, keyring): in a process (a build
 * loads the same suites for the upstream check and again to resolve) and, with `cacheDir`,
 * across processes. Bounded; a failure is not remembered.
 */
const verified = new Map<string, Promise<string>>();

function verifiedText(
  body: Buffer,
  sha256: string,
  keyring: string,
  what: string,
  cacheDir: string | undefined,
) {
  const key = `${sha256}\0${keyring}\0${cacheDir ?? ''}`;
  let text = verified.get(key);
  if (!text) {
    text = cacheDir
      ? verifiedThroughCache(body, sha256, keyring, what, cacheDir)
      : keysFor(keyring).then((keys) => verifyInRelease(body.toString('utf8'), keys, what));
    verified.set(key, text);
    text.catch(() => verified.delete(key));
    if (verified.size > 32) verified.delete(verified.keys().next().value ?? key);
  }
  return text;
}

async function verifiedThroughCache(
  body: Buffer,
  sha256: string,
  keyring: string,
  what: string,
  cacheDir: string,
): Promise<string> {
  const keyringSha256 = await keyringDigest(keyring).catch(() => undefined);
  // A keyring that cannot be read is loadKeyring's error to report, below.
  if (keyringSha256) {
    const cached = await readVerified(cacheDir, sha256, keyringSha256);
    if (cached !== undefined) return cached;
  }
  const text = await verifyInRelease(body.toString('utf8'), await keysFor(keyring), what);
  if (keyringSha256) await writeVerified(cacheDir, sha256, keyringSha256, text);
  return text;
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

/** One component/arch index of a suite, in compact form, and where its records come from. */
interface LoadedIndex {
  index: CompactIndex;
  origin: IndexOrigin;
}

/**
 * Compact indexes by content (sha256): one process (a worker, the test suite, a benchmark)
 * resolves the same archive state many times. Keyed by verified content, so a hit can never be
 * stale; bounded by bytes, least recently used first out.
 */
const compactMemo = new Map<string, Promise<CompactIndex>>();
const compactSizes = new Map<string, number>();
const compactMemoBytes = 160e6;

function remember(key: string, index: Promise<CompactIndex>): void {
  compactMemo.set(key, index);
  index.then(
    (i) => {
      if (compactMemo.get(key) !== index) return;
      compactSizes.set(key, i.bytes);
      let total = 0;
      for (const bytes of compactSizes.values()) total += bytes;
      for (const oldest of compactMemo.keys()) {
        if (total <= compactMemoBytes || oldest === key) break;
        total -= compactSizes.get(oldest) ?? 0;
        compactMemo.delete(oldest);
        compactSizes.delete(oldest);
      }
    },
    () => {
      if (compactMemo.get(key) === index) compactMemo.delete(key);
    },
  );
}

/**
 * The compact form of one listed index: from memory, from the compact cache (made from any of
 * the listed variants, each keyed by the sha256 InRelease gives it), or else fetched as apt does
 * (index-fetch.ts), parsed once and cached. A warm load decompresses and parses nothing.
 */
async function compactIndexOf(
  suite: LoadedSuite,
  names: string[],
  cacheDir: string,
  signal?: AbortSignal,
): Promise<{ index: CompactIndex; name: string }> {
  const { release, source } = suite;
  for (const name of names) {
    const sha256 = release.files.get(name)?.sha256;
    if (!sha256) continue;
    const memo = compactMemo.get(sha256);
    if (memo) {
      compactMemo.delete(sha256);
      compactMemo.set(sha256, memo);
      return { index: await memo, name };
    }
  }
  for (const name of names) {
    const sha256 = release.files.get(name)?.sha256;
    if (!sha256) continue;
    const cached = await readCompact(cacheDir, sha256);
    if (cached) {
      remember(sha256, Promise.resolve(cached));
      return { index: cached, name };
    }
  }
  const fetched = await fetchIndex(
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
  const sha256 = release.files.get(fetched.name)?.sha256 ?? '';
  const building = (async () => {
    const text = await decompress(fetched.body, compressionOf(fetched.name) ?? 'none', signal);
    const data = buildCompactIndex(text, sha256, `${source.suite}/${fetched.name}`);
    await writeCompact(cacheDir, sha256, data);
    // Reopened from the file: the process then holds its lookup tables, not the whole buffer.
    return (await readCompact(cacheDir, sha256)) ?? new CompactIndex(data, sha256);
  })();
  remember(sha256, building);
  return { index: await building, name: fetched.name };
}

async function loadPackages(
  suite: LoadedSuite,
  component: string,
  arch: string,
  cacheDir: string,
  signal?: AbortSignal,
): Promise<LoadedIndex> {
  const { release, source } = suite;
  const names = indexNames(release.files, component, arch);
  if (names.length === 0) {
    throw new PermanentError(
      `suite ${source.suite} has no Packages index for ${component}/${arch} in its InRelease`,
    );
  }
  const { index, name } = await compactIndexOf(suite, names, cacheDir, signal);
  return {
    index,
    origin: { suite: source.suite, mirror: source.mirror, indexName: `${source.suite}/${name}` },
  };
}

/** One suite from one mirror: its verified InRelease and, per arch, the packages of its indexes. */
async function loadSuiteFrom(
  source: SuiteSource,
  request: ArchiveRequest,
): Promise<{ suite: LoadedSuite; packages: Map<string, LoadedIndex[]> }> {
  const suite = await loadSuite(source, request.signal, request.cacheDir);
  const packages = new Map<string, LoadedIndex[]>();
  for (const arch of request.archs) {
    const lists = await Promise.all(
      request.components.flatMap((component) =>
        indexArchs(suite.release, arch).map((a) =>
          loadPackages(suite, component, a, request.cacheDir, request.signal),
        ),
      ),
    );
    packages.set(arch, lists);
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
  const packages = new Map<string, PackageSet>();
  for (const arch of request.archs) {
    packages.set(arch, new PackageSet(loaded.flatMap((l) => l.packages.get(arch) ?? [])));
  }
  return { suites: loaded.map((l) => l.suite), packages };
}
