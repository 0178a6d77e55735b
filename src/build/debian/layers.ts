import { createHash } from 'node:crypto';
import type { LayerEntry } from '../../oci/tar.ts';

/**
 * Layering strategy. Most runtimes are a few dozen packages: each package gets its own layer
 * (its files and its status.d entry), after one base layer (accounts, /tmp), so a one-package
 * update rewrites exactly that package's layer and every other layer keeps its digest.
 * Registries and runtimes handle up to ~127 layers; kiln stays at {@link maxLayers}. Beyond it,
 * the largest packages (by .deb size) keep their own layers and the rest share {@link sharedBuckets} layers
 * chosen by a hash of the package name, so an update still rewrites only one layer (its bucket)
 * and bucket membership never shifts when other packages change.
 */
export const maxLayers = 64;
export const sharedBuckets = 16;

/** A package to place, with its size (the .deb's, known from the lockfile before unpacking). */
export interface PackageSize {
  name: string;
  size: number;
}

function bucketOf(name: string): number {
  return (createHash('sha256').update(name).digest()[0] ?? 0) % sharedBuckets;
}

/**
 * Groups packages into the layers after the base layer, at most {@link maxLayers} − 1 of them,
 * each a list of package names; layers and their members are sorted by name.
 */
export function planLayers(packages: PackageSize[]): string[][] {
  const sorted = [...packages].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  if (sorted.length + 1 <= maxLayers) return sorted.map((p) => [p.name]);
  const ownCount = maxLayers - 1 - sharedBuckets;
  const bySize = [...sorted].sort((a, b) => b.size - a.size || (a.name < b.name ? -1 : 1));
  const own = new Set(bySize.slice(0, ownCount).map((p) => p.name));
  const layers: string[][] = sorted.filter((p) => own.has(p.name)).map((p) => [p.name]);
  const buckets = new Map<number, string[]>();
  for (const p of sorted) {
    if (own.has(p.name)) continue;
    const b = bucketOf(p.name);
    buckets.set(b, [...(buckets.get(b) ?? []), p.name]);
  }
  for (const b of [...buckets.keys()].sort((x, y) => x - y)) layers.push(buckets.get(b) ?? []);
  return layers;
}

/** Folders shared by packages in one layer appear once. */
export function mergeEntries(entries: LayerEntry[]): LayerEntry[] {
  const out = new Map<string, LayerEntry>();
  for (const e of entries) if (!out.has(e.path) || e.type !== 'directory') out.set(e.path, e);
  return [...out.values()];
}
