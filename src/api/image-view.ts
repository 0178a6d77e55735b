import type { Config } from '../config.ts';
import type { CatalogImage } from '../catalog/store.ts';
import { versionTag, type CatalogRecord } from '../catalog/record.ts';
import type { CveSummary } from '../catalog/cves.ts';

/*
 * What the JSON API and the catalog page show of an image: the catalog's records plus what a
 * consumer needs (the full reference, pull and verify commands). One place, so both agree.
 */

export const SPDX_PREDICATE = 'https://spdx.dev/Document';
export const SLSA_PREDICATE = 'https://slsa.dev/provenance/v1';

const seconds = (ms: number | undefined) => (ms === undefined ? null : Math.round(ms / 1000));

/** `host[:port]/namespace/repository`, or the bare repository when no registry is configured. */
export function imageReference(config: Pick<Config, 'registry'>, repository: string): string {
  return config.registry ? `${config.registry}/${repository}` : repository;
}

/** `upstream` (stated by the upstream), `archive` (a Debian InRelease's Date), `first-seen`, or null when unknown. */
function releasedAtSource(r: CatalogRecord): 'upstream' | 'archive' | 'first-seen' | null {
  if (!r.upstream.releasedAt) return null;
  return r.upstream.releasedAtSource ?? 'upstream';
}

function upstreamView(r: CatalogRecord) {
  return {
    releasedAt: r.upstream.releasedAt ?? null,
    releasedAtSource: releasedAtSource(r),
    url: r.upstream.url ?? null,
  };
}

/** Open CVEs of one scanned image: by urgency, how many fixable, and which; null before a scan. */
export function cvesView(summary: CveSummary | undefined) {
  if (!summary) return null;
  return {
    total: summary.total,
    fixable: summary.fixable,
    byUrgency: summary.byUrgency,
    release: summary.release,
    scannedAt: summary.scannedAt,
    fixableCves: summary.fixableCves,
  };
}

export function summaryView(config: Pick<Config, 'registry'>, image: CatalogImage) {
  const r = image.latest;
  return {
    name: image.name,
    repository: r.repository,
    reference: imageReference(config, r.repository),
    description: r.description ?? null,
    latestVersion: r.version,
    epoch: r.epoch,
    versionTag: versionTag(r),
    digest: r.digest,
    /** Tags that currently point at the latest release. */
    tags: image.tags.filter((t) => t.digest === r.digest).map((t) => t.tag),
    archs: r.archs,
    signed: r.signed,
    sbom: r.attestations.includes(SPDX_PREDICATE),
    provenance: r.attestations.includes(SLSA_PREDICATE),
    builtAt: r.builtAt,
    publishedAt: r.publishedAt,
    upstreamReleasedAt: r.upstream.releasedAt ?? null,
    /** `first-seen`: the release time is unknown, upstreamReleasedAt is when kiln first saw it (freshness is a lower bound). */
    upstreamReleasedAtSource: releasedAtSource(r),
    freshnessSeconds: seconds(image.freshnessMs),
    stale: image.staleness.stale,
    pendingUpstream: image.staleness.pending
      ? { ...image.staleness.pending, waitingSeconds: seconds(image.staleness.waitingMs) }
      : null,
    /** The last CVE scan of the latest release (null until one ran after it was published). */
    cves: cvesView(image.latestCves),
  };
}
export type ImageSummaryView = ReturnType<typeof summaryView>;

function versionView(r: CatalogRecord, image: CatalogImage) {
  const scanned = image.cves[versionTag(r)];
  return {
    version: r.version,
    epoch: r.epoch,
    versionTag: versionTag(r),
    digest: r.digest,
    tags: r.tags,
    archs: r.archs,
    inputsDigest: r.inputsDigest,
    signed: r.signed,
    attestations: r.attestations,
    upstream: upstreamView(r),
    builtAt: r.builtAt,
    buildDurationSeconds: seconds(r.buildDurationMs),
    publishedAt: r.publishedAt,
    /** A nano update's changed packages and the CVEs their changelogs name. */
    fixes: r.fixes ?? [],
    cves: cvesView(scanned?.digest === r.digest ? scanned : undefined),
  };
}

export function detailView(config: Pick<Config, 'registry'>, image: CatalogImage) {
  const r = image.latest;
  const reference = imageReference(config, r.repository);
  const pinned = `${reference}@${r.digest}`;
  return {
    ...summaryView(config, image),
    homepage: r.homepage ?? null,
    license: r.license ?? null,
    inputsDigest: r.inputsDigest,
    attestations: r.attestations,
    upstream: upstreamView(r),
    buildDurationSeconds: seconds(r.buildDurationMs),
    /** Every tag and where it points now. */
    allTags: image.tags,
    versions: image.versions.map((v) => versionView(v, image)),
    /** Each CVE fix that reached a tagged image: from first seen fixable to that image's tag. */
    timeToFix: image.timeToFix.map((t) => ({ ...t, seconds: seconds(t.ms) })),
    /** The SBOM's package list of the latest release. */
    packages: r.packages,
    upstreamSeen: image.upstreamSeen,
    commands: {
      pull: `docker pull ${pinned}`,
      kilnVerify: `kiln verify ${pinned} --key cosign.pub`,
      // kiln signs with a key and writes no transparency-log entry: cosign must be told not to look for one.
      cosignVerify: `cosign verify --key cosign.pub --insecure-ignore-tlog=true ${pinned}`,
    },
  };
}
export type ImageDetailView = ReturnType<typeof detailView>;
