import type { InstalledPackage } from '../vuln/installed.ts';
import type { ArchImage, LayerRef } from './arch-images.ts';
import type { ImageSide } from './read-side.ts';

/** A package on one side only, or the same on both: with the package archs it is built for. */
export interface PackageEntry {
  name: string;
  version: string;
  /** `amd64`, `arm64`, `all`…: one entry for every arch with the same version. */
  archs: string[];
}

/** A package whose version differs, with the archs where it changed that way. */
export interface PackageChange {
  name: string;
  from: string;
  to: string;
  archs: string[];
}

export interface PackagesDiff {
  added: PackageEntry[];
  removed: PackageEntry[];
  changed: PackageChange[];
  /** Packages (name and arch) with the same version on both sides. */
  unchanged: number;
}

export interface ArchSideLayers {
  manifest: string;
  layers: number;
  /** Compressed bytes of its layers. */
  bytes: number;
}

/** One platform, on both sides: which layers were added, removed or kept, and the bytes. */
export interface ArchDiff {
  arch: string;
  /** Undefined when the image has no such platform. */
  a: ArchSideLayers | undefined;
  b: ArchSideLayers | undefined;
  sameManifest: boolean;
  layers: { added: LayerRef[]; removed: LayerRef[]; shared: number; sharedBytes: number };
  /** `b.bytes - a.bytes` (compressed). */
  bytesDelta: number;
  /** What a host holding the first image downloads for the second: its layers the first lacks. */
  bytesToPull: number;
}

export interface SideSummary {
  image: string;
  digest: string;
  packagesFrom: ImageSide['packagesFrom'];
  packages: number;
  archs: string[];
}

export interface ImageDiff {
  a: SideSummary;
  b: SideSummary;
  /** Same digest, or no package, layer or platform differs. */
  identical: boolean;
  packages: PackagesDiff;
  archs: ArchDiff[];
}

/** Compares two images read by {@link readSide}: a pure function of what was read. */
export function compareImages(a: ImageSide, b: ImageSide): ImageDiff {
  const packages = comparePackages(a.packages, b.packages);
  const archNames = [...new Set([...a.archs, ...b.archs].map((x) => x.arch))].sort();
  const archs = archNames.map((arch) =>
    compareArch(
      arch,
      a.archs.find((x) => x.arch === arch),
      b.archs.find((x) => x.arch === arch),
    ),
  );
  const identical =
    a.digest === b.digest ||
    (packages.added.length === 0 &&
      packages.removed.length === 0 &&
      packages.changed.length === 0 &&
      archs.every((x) => x.sameManifest));
  return { a: summary(a), b: summary(b), identical, packages, archs };
}

function summary(side: ImageSide): SideSummary {
  return {
    image: side.image,
    digest: side.digest,
    packagesFrom: side.packagesFrom,
    packages: side.packages.length,
    archs: side.archs.map((x) => x.arch),
  };
}

/** Packages keyed by name and arch; the same change on several archs is one entry. */
export function comparePackages(
  a: readonly InstalledPackage[],
  b: readonly InstalledPackage[],
): PackagesDiff {
  const versions = (list: readonly InstalledPackage[]) =>
    new Map(list.map((p) => [`${p.name}\u0000${p.arch ?? ''}`, p]));
  const before = versions(a);
  const after = versions(b);
  const added = new Map<string, PackageEntry>();
  const removed = new Map<string, PackageEntry>();
  const changed = new Map<string, PackageChange>();
  let unchanged = 0;
  for (const [key, p] of before) {
    const q = after.get(key);
    if (!q) group(removed, p.arch, { name: p.name, version: p.version, archs: [] });
    else if (q.version === p.version) unchanged++;
    else group(changed, p.arch, { name: p.name, from: p.version, to: q.version, archs: [] });
  }
  for (const [key, q] of after)
    if (!before.has(key)) group(added, q.arch, { name: q.name, version: q.version, archs: [] });
  return { added: sorted(added), removed: sorted(removed), changed: sorted(changed), unchanged };
}

/** Adds `entry`'s arch to the entry equal to it but for the arch (the first one kept). */
function group<T extends { name: string; archs: string[] }>(
  into: Map<string, T>,
  arch: string | undefined,
  entry: T,
): void {
  const key = JSON.stringify({ ...entry, archs: undefined });
  const found = into.get(key) ?? entry;
  into.set(key, found);
  if (arch && !found.archs.includes(arch)) found.archs.push(arch);
}

function sorted<T extends { name: string; archs: string[] }>(entries: Map<string, T>): T[] {
  const out = [...entries.values()];
  for (const e of out) e.archs.sort();
  return out.sort((x, y) => (x.name < y.name ? -1 : x.name > y.name ? 1 : 0));
}

function compareArch(arch: string, a: ArchImage | undefined, b: ArchImage | undefined): ArchDiff {
  const before = new Set(a?.layers.map((l) => l.digest));
  const after = new Set(b?.layers.map((l) => l.digest));
  const added = (b?.layers ?? []).filter((l) => !before.has(l.digest));
  const removed = (a?.layers ?? []).filter((l) => !after.has(l.digest));
  const shared = (b?.layers ?? []).filter((l) => before.has(l.digest));
  const side = (x: ArchImage | undefined): ArchSideLayers | undefined =>
    x && { manifest: x.manifest, layers: x.layers.length, bytes: sum(x.layers) };
  return {
    arch,
    a: side(a),
    b: side(b),
    sameManifest: a !== undefined && b !== undefined && a.manifest === b.manifest,
    layers: { added, removed, shared: shared.length, sharedBytes: sum(shared) },
    bytesDelta: sum(b?.layers ?? []) - sum(a?.layers ?? []),
    bytesToPull: sum(added),
  };
}

const sum = (layers: readonly LayerRef[]): number => layers.reduce((n, l) => n + l.size, 0);
