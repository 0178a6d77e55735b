import { archiveSettingsFromConfig } from '../build/debian/resolve.ts';
import type { Config } from '../config.ts';
import { loadArchive } from '../debian/archive.ts';
import { hostSuiteSources } from '../debian/sources.ts';
import type { VulnFeed } from './model.ts';
import { sourceBinariesOf, type SourceBinaries } from './not-affected.ts';

/*
 * Which binaries each source package builds, from the Packages index of an image's suites (the
 * debian builder's verified, cached indexes): what confirms a record's affected-binary names
 * before kiln claims their absence (not-affected.ts). Loaded only when a kept record names
 * binaries in the release (the Security Tracker's JSON never does), for publish, `kiln scan`
 * and the catalog's counts alike.
 */

export type IndexConfig = Partial<
  Pick<Config, 'cacheDir' | 'debianMirror' | 'debianSecurityMirror' | 'debianKeyring'>
> &
  Pick<Config, 'cacheDir'>;

export interface IndexScope {
  config: IndexConfig;
  /** The suites the image reads (`trixie`, `trixie-security`); only those of `release` count. */
  suites: readonly string[];
  components: readonly string[];
  archs: readonly string[];
}

/** Whether any kept record names affected binaries in `release`. */
export function namesBinaries(feed: VulnFeed, release: string): boolean {
  for (const cves of feed.sources.values())
    for (const record of cves.values())
      if (record.releases.get(release)?.binaries?.length) return true;
  return false;
}

/** Source → binaries over the scope's suites of `release`; undefined when no record needs it. */
export async function sourceBinariesFor(
  feed: VulnFeed,
  release: string,
  scope: IndexScope,
): Promise<SourceBinaries | undefined> {
  if (!namesBinaries(feed, release)) return undefined;
  const suites = scope.suites.filter((s) => s.split(/[-/]/)[0] === release);
  const archs = [...new Set(scope.archs)];
  if (suites.length === 0 || archs.length === 0) return undefined;
  const c = scope.config;
  const settings = archiveSettingsFromConfig({
    cacheDir: c.cacheDir,
    debianMirror: c.debianMirror,
    debianSecurityMirror: c.debianSecurityMirror,
    debianKeyring: c.debianKeyring,
  });
  const index = await loadArchive({
    sources: await hostSuiteSources([...suites], settings),
    components: [...scope.components],
    archs,
    cacheDir: c.cacheDir,
  });
  return sourceBinariesOf(
    (function* () {
      for (const set of index.packages.values()) yield* set;
    })(),
  );
}

/** The binary architectures of an image's packages (`all` is in every arch's index). */
export function archsOf(packages: readonly { arch: string | undefined }[]): string[] {
  return [...new Set(packages.flatMap((p) => (p.arch && p.arch !== 'all' ? [p.arch] : [])))];
}
