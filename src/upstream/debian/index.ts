import { createHash } from 'node:crypto';
import { loadArchive } from '../../debian/archive.ts';
import { PackageSet } from '../../debian/package-set.ts';
import { hostSuiteSources, type MirrorSettings, type SuiteSource } from '../../debian/sources.ts';
import { PermanentError } from '../../errors.ts';
import { UpstreamNotFoundError } from '../errors.ts';
import { httpGet } from '../http.ts';
import { toFetchResult } from '../release.ts';
import type {
  CachedEntry,
  FetchResult,
  Release,
  SourceContext,
  UpstreamSource,
  WatchItem,
} from '../types.ts';
import { debianRefPattern, suitesOf } from './schema.ts';

/** A suite's packages and the Date of the InRelease they were read through. */
interface SuiteIndex {
  packages: PackageSet;
  date: Date | undefined;
}

/** A Debian release's time, when it has one, is the Date of the InRelease that first listed it. */
const markArchive = (releases: readonly Release[]): Release[] =>
  releases.map((r) => (r.publishedAt ? { ...r, publishedAtSource: 'archive' as const } : r));

/** Versions are read from this arch's index: a package's versions are the same on every arch. */
const indexArch = 'amd64';

/** One opened Debian source: its context, mirror settings and the suite indexes it has loaded. */
interface DebianSuites {
  ctx: SourceContext;
  settings: MirrorSettings;
  /** Per suite: the InRelease digest its packages (and the InRelease's Date) were loaded from. */
  indexes: Map<string, { digest: string; packages: Promise<SuiteIndex> }>;
}

const openSuites = (ctx: SourceContext): DebianSuites => ({
  ctx,
  settings: {
    debianMirror: ctx.config.debianMirror,
    debianSecurityMirror: ctx.config.debianSecurityMirror,
    debianKeyring: ctx.config.debianKeyring,
  },
  indexes: new Map(),
});

// The suite's packages, read on demand from its compact index: only the watched names
// become objects (a main index has ~68,000).
function packagesOf(open: DebianSuites, suite: string, digest: string): Promise<SuiteIndex> {
  const current = open.indexes.get(suite);
  if (current?.digest === digest) return current.packages;
  const packages = loadSuiteIndex(open, suite);
  packages.catch(() => open.indexes.delete(suite));
  open.indexes.set(suite, { digest, packages });
  return packages;
}

async function loadSuiteIndex(open: DebianSuites, suite: string): Promise<SuiteIndex> {
  const sources = await hostSuiteSources([suite], open.settings);
  const archive = await loadArchive({
    sources,
    components: ['main'],
    archs: [indexArch],
    cacheDir: open.ctx.config.cacheDir,
  });
  return {
    packages: archive.packages.get(indexArch) ?? new PackageSet([]),
    date: archive.suites[0]?.release.date,
  };
}

const inReleaseKey = (source: SuiteSource, suite: string) =>
  `debian:inrelease:${source.mirror}/${suite}`;

/** A suite's InRelease, fetched conditionally: its sha256, or undefined on a 304 with no copy. */
interface InReleaseRead {
  digest: string | undefined;
  /** Store the validators and digest of a fresh InRelease (nothing to store after a 304). */
  remember: () => Promise<void>;
}

async function readInRelease(
  ctx: SourceContext,
  source: SuiteSource,
  suite: string,
  cachedIn: CachedEntry | undefined,
): Promise<InReleaseRead> {
  const response = await httpGet(ctx, `${source.mirror}/dists/${suite}/InRelease`, {
    what: `InRelease of ${suite}`,
    validators: cachedIn,
  });
  if (!('body' in response)) return { digest: cachedIn?.extra?.sha256, remember: async () => {} };
  const digest = createHash('sha256').update(response.body).digest('hex');
  const remember = () =>
    ctx.cache.set(inReleaseKey(source, suite), {
      etag: response.etag,
      lastModified: response.lastModified,
      releases: [],
      extra: { sha256: digest },
    });
  return { digest, remember };
}

/** One suite's versions of `pkg`; with `optional`, a suite without the package gives undefined. */
async function fetchSuite(
  open: DebianSuites,
  suite: string,
  pkg: string,
  optional: boolean,
): Promise<FetchResult | undefined> {
  const { ctx } = open;
  const [source] = await hostSuiteSources([suite], open.settings);
  if (!source) throw new PermanentError(`no Debian mirror for suite ${suite}`);
  const what = `Debian package ${pkg} in ${suite}`;
  const key = `debian:${source.mirror}/${suite}/${pkg}`;
  const [cachedIn, cached] = await Promise.all([
    ctx.cache.get(inReleaseKey(source, suite)),
    ctx.cache.get(key),
  ]);
  const { digest, remember } = await readInRelease(ctx, source, suite, cachedIn);
  if (cached && digest && cached.extra?.inRelease === digest)
    return { releases: markArchive(cached.releases), unchanged: true, rejected: [] };
  if (!digest) throw new PermanentError(`${what}: InRelease answered 304 but no copy is cached`);
  await remember();
  const index = await packagesOf(open, suite, digest);
  const entries = index.packages.named(pkg);
  if (entries.length === 0) {
    if (optional) return undefined;
    throw new UpstreamNotFoundError(`${what}: not in the suite's main/${indexArch} index`);
  }
  const known = cached
    ? new Map(cached.releases.map((r) => [r.version, r.publishedAt]))
    : undefined;
  const result = toFetchResult(
    what,
    entries.map((e) => ({
      tag: e.version,
      version: e.version,
      publishedAt: releaseTime(known, index.date, e.version),
      url: `${source.mirror}/${e.filename}`,
      checksums: { sha256: e.sha256 },
    })),
  );
  await ctx.cache.set(key, { releases: result.releases, extra: { inRelease: digest } });
  return { ...result, releases: markArchive(result.releases) };
}

// Release time: a version absent from the InRelease kiln last read for this package, and in
// this one, was published by this InRelease (its verified Date). A version kiln found on its
// first look has no known release time: it is left unstamped, and the planner stamps it with
// the time kiln first saw it (src/plan/first-seen.ts), marked as such.
function releaseTime(
  known: Map<string, string | undefined> | undefined,
  date: Date | undefined,
  version: string,
): string | undefined {
  if (known === undefined) return undefined;
  return known.has(version) ? known.get(version) : date?.toISOString();
}

/** Every suite of the item's ref, merged: each version once (the same .deb is in both). */
async function fetchItem(open: DebianSuites, item: WatchItem): Promise<FetchResult> {
  const m = debianRefPattern.exec(item.ref);
  if (!m?.[1] || !m[2])
    throw new PermanentError(
      `recipe ${item.recipe}: ${JSON.stringify(item.ref)} is not suite/package`,
    );
  const pkg = m[2];
  const suites = m[1].split(',');
  const results = [];
  for (const suite of suites) results.push(await fetchSuite(open, suite, pkg, suites.length > 1));
  if (results.every((r) => r === undefined))
    throw new UpstreamNotFoundError(
      `Debian package ${pkg} in ${suites.join(', ')}: not in any suite's main/${indexArch} index`,
    );
  if (results.length === 1 && results[0]) return results[0];
  const seen = new Set<string>();
  const found = results.filter((r) => r !== undefined);
  return {
    releases: found
      .flatMap((r) => r.releases)
      .filter((r) => (seen.has(r.version) ? false : (seen.add(r.version), true))),
    unchanged: found.every((r) => r.unchanged),
    rejected: found.flatMap((r) => r.rejected),
  };
}

/**
 * A Debian package's versions in a suite. A conditional GET of InRelease says whether the suite
 * changed; only then is the archive loaded (and verified) through src/debian, once per suite
 * and InRelease, however many recipes watch it.
 */
export const debianSource: UpstreamSource = {
  id: 'debian',
  refOf: (upstream) =>
    upstream.debian
      ? `${suitesOf(upstream.debian.suite).join(',')}/${upstream.debian.package}`
      : undefined,
  open(ctx: SourceContext) {
    const open = openSuites(ctx);
    return {
      async hostOf(item) {
        const suite = (debianRefPattern.exec(item.ref)?.[1] ?? '').split(',')[0] ?? '';
        const [source] = await hostSuiteSources([suite], open.settings);
        return source ? new URL(source.mirror).host : 'debian';
      },
      fetch: (item) => fetchItem(open, item),
    };
  },
};
