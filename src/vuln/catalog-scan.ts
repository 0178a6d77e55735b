import type { CatalogRecord } from '../catalog/record.ts';
import { recordCveScan, type CveSummary, type TimeToFix } from '../catalog/cves.ts';
import { loadCatalog, type StoredImage } from '../catalog/store.ts';
import type { Config } from '../config.ts';
import { describeError } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { RedisClient } from '../queue/connection.ts';
import type { LoadedRecipe } from '../recipe/load.ts';
import { schemeOf } from '../versioning/scheme.ts';
import { normalizeStreams, streamMatcher } from '../versioning/streams.ts';
import { loadFeed, type FeedOrigin } from './feed.ts';
import { releaseOfVersions } from './image-layout.ts';
import { parseDebPurl } from './image-registry.ts';
import { sourceOf, type InstalledPackage } from './installed.ts';
import { installedSources, summarise } from './match.ts';
import type { VulnFeed } from './model.ts';
import { judgeFeed, type SourceBinaries } from './not-affected.ts';
import { isKnownRelease } from './releases.ts';
import { archsOf, sourceBinariesFor, type IndexConfig } from './source-binaries.ts';

/*
 * The CVEs of the catalog's images: for each recipe, the newest published image of each stream
 * (by version order, then epoch) is matched against the feed (judgeFeed in not-affected.ts, the
 * same verdicts as `kiln scan` and the image's OpenVEX: a CVE whose affected binaries the image
 * does not carry is not counted) with the packages its record holds, and the summary goes to the catalog (src/catalog/cves.ts), which also keeps the
 * fixes' waits (time to fix). The vuln trigger (src/watch/vuln-trigger.ts) runs this every
 * round and re-plans the recipes whose heads have fixable CVEs.
 */

/** The newest image of one stream of a recipe. */
export interface StreamHead {
  recipe: LoadedRecipe;
  stream: string;
  record: CatalogRecord;
}

/** The Debian packages a catalog record lists, as src/vuln's matcher takes them. */
export function installedOfRecord(record: Pick<CatalogRecord, 'packages'>): InstalledPackage[] {
  return record.packages.flatMap((p) => {
    const deb = parseDebPurl(p.purl);
    if (!deb) return [];
    const derived = sourceOf(deb.name, deb.version, p.source);
    return [
      {
        name: deb.name,
        version: deb.version,
        arch: deb.arch,
        source: derived.source,
        sourceVersion: p.sourceVersion ?? derived.sourceVersion,
      },
    ];
  });
}

/**
 * The release a recipe's image is judged against: its suites' codename (`trixie-security` →
 * `trixie`; the first suite names it), else what the packages' `debNNuM` versions say (a recipe
 * reading `stable` names no codename).
 */
export function releaseOfRecipe(
  recipe: LoadedRecipe['recipe'],
  packages: InstalledPackage[],
): string | undefined {
  const first = recipe.build.contents?.suites[0];
  const codename = first?.replace(/-(security|updates|backports|proposed-updates)$/, '');
  if (codename && isKnownRelease(codename)) return codename;
  return releaseOfVersions(packages);
}

/** Each stream's newest published image of the recipes that have a record in the catalog. */
export function streamHeads(
  recipes: readonly LoadedRecipe[],
  stored: readonly StoredImage[],
): StreamHead[] {
  const byName = new Map(stored.map((s) => [s.name, s]));
  const out: StreamHead[] = [];
  for (const loaded of recipes) {
    const image = byName.get(loaded.recipe.name);
    if (!image) continue;
    const scheme = schemeOf(loaded.recipe.versions.scheme);
    for (const stream of normalizeStreams(loaded.recipe.versions.streams)) {
      const matches = streamMatcher(scheme, stream);
      const head = image.versions
        .filter((r) => scheme.normalize(r.version) !== undefined && matches(r.version))
        .reduce<CatalogRecord | undefined>(
          (best, r) =>
            !best ||
            scheme.compare(r.version, best.version) > 0 ||
            (r.version === best.version && r.epoch > best.epoch)
              ? r
              : best,
          undefined,
        );
      if (head) out.push({ recipe: loaded, stream: stream.name, record: head });
    }
  }
  return out;
}

/** One head's summary against a loaded feed; undefined when its release cannot be told. */
export function summariseHead(
  head: StreamHead,
  feed: VulnFeed,
  feedName: string,
  now: Date,
  sourceBinaries?: SourceBinaries,
): CveSummary | undefined {
  const packages = installedOfRecord(head.record);
  const release = releaseOfRecipe(head.recipe.recipe, packages);
  if (!release) return undefined;
  const { findings } = judgeFeed({ packages, feed, release, sourceBinaries });
  const counts = summarise(findings);
  return {
    recipe: head.record.recipe,
    stream: head.stream,
    version: head.record.version,
    epoch: head.record.epoch,
    digest: head.record.digest,
    release,
    scannedAt: now.toISOString(),
    feed: feedName,
    total: counts.total,
    fixable: counts.fixable,
    byUrgency: { ...counts.byUrgency },
    fixableCves: findings.flatMap((f) =>
      f.state === 'fixable' && f.fixedVersion !== undefined && f.suite !== undefined
        ? [
            {
              cve: f.cve,
              source: f.source,
              installed: f.sourceVersion,
              fixedVersion: f.fixedVersion,
              suite: f.suite,
              urgency: f.urgency,
            },
          ]
        : [],
    ),
  };
}

export interface CatalogScanOptions {
  redis: RedisClient;
  prefix: string;
  /** The Debian mirror settings confirm affected-binary names (source-binaries.ts). */
  config: Pick<Config, 'vulnFeed'> & IndexConfig;
  recipes: readonly LoadedRecipe[];
  log: Logger;
  /** @default now */
  now?: Date;
}

export interface CatalogScan {
  feed: FeedOrigin & { refused: number };
  summaries: CveSummary[];
  /** Fixes that reached a tagged image since the last scan. */
  fixed: TimeToFix[];
}

/** Scans every recipe's stream heads against KILN_VULN_FEED and records the summaries. */
export async function scanCatalog(options: CatalogScanOptions): Promise<CatalogScan | undefined> {
  const { config, log } = options;
  if (!config.vulnFeed) return undefined;
  const now = options.now ?? new Date();
  const stored = await loadCatalog(options.redis, options.prefix);
  const heads = streamHeads(options.recipes, stored);
  const wanted = new Set(
    heads.flatMap((h) => installedSources(installedOfRecord(h.record)).map((s) => s.source)),
  );
  const { feed, origin } = await loadFeed(config.vulnFeed, config.cacheDir, wanted);
  if (feed.refused > 0)
    log.warn(
      { feed: origin.location, refused: feed.refused, first: feed.refusals[0] },
      'vulnerability feed entries refused',
    );
  const feedName = origin.fetch ? `${origin.location} ${origin.fetch.digest}` : origin.location;
  const summaries: CveSummary[] = [];
  const fixed: TimeToFix[] = [];
  for (const recipe of new Set(heads.map((h) => h.record.recipe))) {
    const mine = [];
    for (const h of heads) {
      if (h.record.recipe !== recipe) continue;
      const binaries = await headSourceBinaries(h, feed, config, log);
      const summary = summariseHead(h, feed, feedName, now, binaries);
      if (!summary) {
        log.warn({ recipe, stream: h.stream }, 'cannot tell the Debian release; CVEs not counted');
        continue;
      }
      mine.push({ summary, publishedAt: h.record.publishedAt });
    }
    fixed.push(...(await recordCveScan(options.redis, options.prefix, recipe, mine, now)));
    summaries.push(...mine.map((m) => m.summary));
  }
  return { feed: { ...origin, refused: feed.refused }, summaries, fixed };
}

/**
 * The Packages index of a head's suites, when a record names affected binaries (as at publish);
 * an index that cannot be loaded gives no not-affected claims (the CVEs count as open), logged.
 */
async function headSourceBinaries(
  head: StreamHead,
  feed: VulnFeed,
  config: IndexConfig,
  log: Logger,
): Promise<SourceBinaries | undefined> {
  const recipe = head.recipe.recipe;
  const contents = recipe.build.contents;
  if (recipe.build.builder !== 'debian' || !contents) return undefined;
  const packages = installedOfRecord(head.record);
  const release = releaseOfRecipe(recipe, packages);
  if (!release) return undefined;
  try {
    return await sourceBinariesFor(feed, release, {
      config,
      suites: contents.suites,
      components: contents.components,
      archs: archsOf(packages),
    });
  } catch (error) {
    log.warn(
      { recipe: recipe.name, stream: head.stream, err: describeError(error) },
      'the Packages index could not be read: CVEs whose affected binaries are absent count as open',
    );
    return undefined;
  }
}
