import type { Config } from '../config.ts';
import type { CatalogImage } from '../catalog/store.ts';
import { versionTag, type CatalogRecord } from '../catalog/record.ts';
import type { CveSummary } from '../catalog/cves.ts';
import { groupFamilies, variantOfRecord, type ImageFamily } from '../catalog/variants.ts';

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

/**
 * One image of the list or a family: `variantOf` names the main image when this one is a
 * variant of it (`static-dev` of `static`).
 */
export function summaryView(
  config: Pick<Config, 'registry'>,
  image: CatalogImage,
  variantOf?: string,
) {
  const r = image.latest;
  const variant = variantOfRecord(r);
  return {
    name: image.name,
    /** A variant's name (`dev`: its tags end in `-dev`), null for a main image. */
    variant: variant?.name ?? null,
    /** The image this one is a variant of (`static` for `static-dev`), null for a main image. */
    variantOf: variant ? (variantOf ?? variant.of ?? null) : null,
    repository: r.repository,
    reference: imageReference(config, r.repository),
    description: r.description ?? null,
    latestVersion: r.version,
    epoch: r.epoch,
    versionTag: versionTag(r),
    /** The immutable `X.Y.Z-rN-<yyyymmddhhmm>` tag of the latest release's publish (null if unrecorded). */
    buildTag: r.buildTag ?? null,
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

/** A summary of each image of the list; a main image carries its variants' summaries beside it. */
export function listView(config: Pick<Config, 'registry'>, images: readonly CatalogImage[]) {
  const families = groupFamilies(images);
  const mainOf = new Map(families.flatMap((f) => f.variants.map((v) => [v.name, f.main.name])));
  const variantsOf = new Map(families.map((f) => [f.main.name, f.variants]));
  return images.map((i) => ({
    ...summaryView(config, i, mainOf.get(i.name)),
    /** The variants of this image (static's `static-dev`), each as its own summary; empty for a variant. */
    variants: (variantsOf.get(i.name) ?? []).map((v) => summaryView(config, v, i.name)),
  }));
}
export type ImageListView = ReturnType<typeof listView>[number];

/** How to pull one image: by digest, and by its `latest` (or exact) tag. */
function commandsOf(config: Pick<Config, 'registry'>, image: CatalogImage) {
  const r = image.latest;
  const reference = imageReference(config, r.repository);
  const pinned = `${reference}@${r.digest}`;
  const current = image.tags.filter((t) => t.digest === r.digest).map((t) => t.tag);
  const variant = variantOfRecord(r);
  const latest = variant ? `latest-${variant.name}` : 'latest';
  const tag = current.find((t) => t === latest) ?? r.tags[0] ?? versionTag(r);
  return {
    pull: `docker pull ${pinned}`,
    pullByTag: `docker pull ${reference}:${tag}`,
    /** By the build tag, which never moves (null when the record has none). */
    pullByBuildTag: r.buildTag ? `docker pull ${reference}:${r.buildTag}` : null,
    kilnVerify: `kiln verify ${pinned} --key cosign.pub`,
    // kiln signs with a key and writes no transparency-log entry: cosign must be told not to look for one.
    cosignVerify: `cosign verify --key cosign.pub --insecure-ignore-tlog=true ${pinned}`,
  };
}

/** A variant beside its main image (or the main image beside a variant): summary and pull commands. */
function memberView(config: Pick<Config, 'registry'>, image: CatalogImage, variantOf?: string) {
  return { ...summaryView(config, image, variantOf), commands: commandsOf(config, image) };
}
export type FamilyMemberView = ReturnType<typeof memberView>;

function versionView(r: CatalogRecord, image: CatalogImage) {
  const scanned = image.cves[versionTag(r)];
  return {
    version: r.version,
    epoch: r.epoch,
    versionTag: versionTag(r),
    buildTag: r.buildTag ?? null,
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

/**
 * One image with everything the API and its page show; `family` is the catalog entry it belongs
 * to (familyOf in src/catalog/variants.ts), for its variants or the image it is a variant of.
 */
export function detailView(
  config: Pick<Config, 'registry'>,
  image: CatalogImage,
  family?: ImageFamily<CatalogImage>,
) {
  const r = image.latest;
  const main = family && family.main.name !== image.name ? family.main : undefined;
  return {
    ...summaryView(config, image, main?.name),
    /** A main image's variants, each with its tags, digest, sizes, CVEs and pull commands. */
    variants: main ? [] : (family?.variants ?? []).map((v) => memberView(config, v, image.name)),
    /** For a variant: its main image, and the main image's other variants. */
    family: main
      ? [
          memberView(config, main),
          ...(family?.variants ?? [])
            .filter((v) => v.name !== image.name)
            .map((v) => memberView(config, v, main.name)),
        ]
      : [],
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
    commands: commandsOf(config, image),
  };
}
export type ImageDetailView = ReturnType<typeof detailView>;
