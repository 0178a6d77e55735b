import { createHash } from 'node:crypto';
import type { LayerEntry } from '../../oci/tar.ts';

/**
 * Layering strategy. Most runtimes are a few dozen packages: each package gets its own layer
 * (its files and its status.d entry), after one base layer (accounts, /tmp), so a one-package
 * update rewrites exactly that package's layer and every other layer keeps its digest.
 * Registries and runtimes handle up to ~127 layers; kiln stays at {@link maxLayers}. Beyond it,
 * the largest packages keep their own layers and the rest share {@link sharedBuckets} layers
 * chosen by a hash of the package name, so an update still rewrites only one layer (its bucket)
 * and bucket membership never shifts when other packages change.
 */
export const maxLayers = 64;
export const sharedBuckets = 16;

export interface PlannedLayer {
  /** Packages in this layer (empty for the base layer). */
  packages: string[];
  entries: LayerEntry[];
}

export interface PackageLayerInput {
  name: string;
  entries: LayerEntry[];
}

function bytes(entries: LayerEntry[]): number {
  return entries.reduce((sum, e) => sum + (e.data?.length ?? 0), 0);
}

function bucketOf(name: string): number {
  return (createHash('sha256').update(name).digest()[0] ?? 0) % sharedBuckets;
}

/** Groups packages into at most {@link maxLayers} layers, base layer first, then by name. */
export function planLayers(base: LayerEntry[], packages: PackageLayerInput[]): PlannedLayer[] {
  const sorted = [...packages].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const layers: PlannedLayer[] = [{ packages: [], entries: base }];
  if (sorted.length + 1 <= maxLayers) {
    for (const p of sorted) layers.push({ packages: [p.name], entries: p.entries });
    return layers;
  }
  const ownCount = maxLayers - 1 - sharedBuckets;
  const bySize = [...sorted].sort((a, b) => bytes(b.entries) - bytes(a.entries) || (a.name < b.name ? -1 : 1));
  const own = new Set(bySize.slice(0, ownCount).map((p) => p.name));
  const buckets = new Map<number, PackageLayerInput[]>();
  for (const p of sorted) {
    if (own.has(p.name)) {
      layers.push({ packages: [p.name], entries: p.entries });
      continue;
    }
    const b = bucketOf(p.name);
    buckets.set(b, [...(buckets.get(b) ?? []), p]);
  }
  for (const b of [...buckets.keys()].sort((x, y) => x - y)) {
    const members = buckets.get(b) ?? [];
    layers.push({ packages: members.map((m) => m.name), entries: mergeEntries(members.flatMap((m) => m.entries)) });
  }
  return layers;
}

/** Folders shared by packages in one bucket appear once. */
function mergeEntries(entries: LayerEntry[]): LayerEntry[] {
  const out = new Map<string, LayerEntry>();
  for (const e of entries) if (!out.has(e.path) || e.type !== 'directory') out.set(e.path, e);
  return [...out.values()];
}
