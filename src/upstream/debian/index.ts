import { createHash } from 'node:crypto';
import { loadArchive } from '../../debian/archive.ts';
import { PackageSet } from '../../debian/package-set.ts';
import { hostSuiteSources } from '../../debian/sources.ts';
import { PermanentError } from '../../errors.ts';
import { UpstreamNotFoundError } from '../errors.ts';
import { httpGet } from '../http.ts';
import { toFetchResult } from '../release.ts';
import type { FetchResult, SourceContext, UpstreamSource } from '../types.ts';
import { debianRefPattern, suitesOf } from './schema.ts';

/** Versions are read from this arch's index: a package's versions are the same on every arch. */
const indexArch = 'amd64';

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
    const settings = {
      debianMirror: ctx.config.debianMirror,
      debianSecurityMirror: ctx.config.debianSecurityMirror,
      debianKeyring: ctx.config.debianKeyring,
    };
    /** Per suite: the InRelease digest its packages were loaded from. */
    const indexes = new Map<string, { digest: string; packages: Promise<PackageSet> }>();

    // The suite's packages, read on demand from its compact index: only the watched names
    // become objects (a main index has ~68,000).
    const packagesOf = (suite: string, digest: string): Promise<PackageSet> => {
      const current = indexes.get(suite);
      if (current?.digest === digest) return current.packages;
      const packages = (async () => {
        const sources = await hostSuiteSources([suite], settings);
        const archive = await loadArchive({
          sources,
          components: ['main'],
          archs: [indexArch],
          cacheDir: ctx.config.cacheDir,
        });
        return archive.packages.get(indexArch) ?? new PackageSet([]);
      })();
      packages.catch(() => indexes.delete(suite));
      indexes.set(suite, { digest, packages });
      return packages;
    };

    /** One suite's versions of `pkg`; with `optional`, a suite without the package gives undefined. */
    const fetchSuite = async (
      suite: string,
      pkg: string,
      optional: boolean,
    ): Promise<FetchResult | undefined> => {
      const [source] = await hostSuiteSources([suite], settings);
      if (!source) throw new PermanentError(`no Debian mirror for suite ${suite}`);
      const what = `Debian package ${pkg} in ${suite}`;
      const inKey = `debian:inrelease:${source.mirror}/${suite}`;
      const key = `debian:${source.mirror}/${suite}/${pkg}`;
      const [cachedIn, cached] = await Promise.all([ctx.cache.get(inKey), ctx.cache.get(key)]);
      const response = await httpGet(ctx, `${source.mirror}/dists/${suite}/InRelease`, {
        what: `InRelease of ${suite}`,
        validators: cachedIn,
      });
      const digest =
        'body' in response
          ? createHash('sha256').update(response.body).digest('hex')
          : cachedIn?.extra?.sha256;
      if (cached && digest && cached.extra?.inRelease === digest)
        return { releases: cached.releases, unchanged: true, rejected: [] };
      if (!digest)
        throw new PermanentError(`${what}: InRelease answered 304 but no copy is cached`);
      if ('body' in response)
        await ctx.cache.set(inKey, {
          etag: response.etag,
          lastModified: response.lastModified,
          releases: [],
          extra: { sha256: digest },
        });
      const entries = (await packagesOf(suite, digest)).named(pkg);
      if (entries.length === 0) {
        if (optional) return undefined;
        throw new UpstreamNotFoundError(`${what}: not in the suite's main/${indexArch} index`);
      }
      const result = toFetchResult(
        what,
        entries.map((e) => ({
          tag: e.version,
          version: e.version,
          url: `${source.mirror}/${e.filename}`,
          checksums: { sha256: e.sha256 },
        })),
      );
      await ctx.cache.set(key, { releases: result.releases, extra: { inRelease: digest } });
      return result;
    };

    return {
      async hostOf(item) {
        const suite = (debianRefPattern.exec(item.ref)?.[1] ?? '').split(',')[0] ?? '';
        const [source] = await hostSuiteSources([suite], settings);
        return source ? new URL(source.mirror).host : 'debian';
      },
      async fetch(item) {
        const m = debianRefPattern.exec(item.ref);
        if (!m?.[1] || !m[2])
          throw new PermanentError(
            `recipe ${item.recipe}: ${JSON.stringify(item.ref)} is not suite/package`,
          );
        const pkg = m[2];
        const suites = m[1].split(',');
        const results = [];
        for (const suite of suites) results.push(await fetchSuite(suite, pkg, suites.length > 1));
        if (results.every((r) => r === undefined))
          throw new UpstreamNotFoundError(
            `Debian package ${pkg} in ${suites.join(', ')}: not in any suite's main/${indexArch} index`,
          );
        if (results.length === 1 && results[0]) return results[0];
        // Several suites: one list of versions, each version once (the same .deb is in both).
        const seen = new Set<string>();
        const found = results.filter((r) => r !== undefined);
        return {
          releases: found
            .flatMap((r) => r.releases)
            .filter((r) => (seen.has(r.version) ? false : (seen.add(r.version), true))),
          unchanged: found.every((r) => r.unchanged),
          rejected: found.flatMap((r) => r.rejected),
        };
      },
    };
  },
};
