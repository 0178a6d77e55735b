import type { PublishedImage } from './published-state.ts';

/**
 * The epoch (`-rN`) for building `version` with these inputs: the epoch already published with
 * the same inputs (nothing to do), else one above the highest epoch of that version, else 0
 * (a new upstream version starts again at `-r0`).
 */
export function nextEpoch(
  published: readonly PublishedImage[],
  version: string,
  inputsDigest: string,
): number {
  const same = published.filter((p) => p.version === version);
  const identical = same.find((p) => p.inputsDigest === inputsDigest);
  if (identical) return identical.epoch;
  return same.length === 0 ? 0 : Math.max(...same.map((p) => p.epoch)) + 1;
}

/** The published image of this version with exactly these inputs, if any. */
export function findPublished(
  published: readonly PublishedImage[],
  version: string,
  inputsDigest: string,
): PublishedImage | undefined {
  return published.find((p) => p.version === version && p.inputsDigest === inputsDigest);
}
