import type { PublishedImage } from './published-state.ts';

/**
 * The epoch (`-rN`) for building `version` with these inputs: the newest epoch of that version
 * when it has the same inputs (nothing to do), else one above it, else 0 (a new upstream version
 * starts again at `-r0`). Only the newest epoch counts: when inputs go back to an older epoch's
 * (a reverted package, a recipe edit undone), the floating tags still name the newest one, so
 * the build is a new epoch and they move forward; epochs never go back (as melange's do not).
 */
export function nextEpoch(
  published: readonly PublishedImage[],
  version: string,
  inputsDigest: string,
): number {
  const newest = newestEpoch(published, version);
  if (!newest) return 0;
  return newest.inputsDigest === inputsDigest ? newest.epoch : newest.epoch + 1;
}

/** The newest published epoch of this version when it has exactly these inputs, if so. */
export function findPublished(
  published: readonly PublishedImage[],
  version: string,
  inputsDigest: string,
): PublishedImage | undefined {
  const newest = newestEpoch(published, version);
  return newest?.inputsDigest === inputsDigest ? newest : undefined;
}

function newestEpoch(
  published: readonly PublishedImage[],
  version: string,
): PublishedImage | undefined {
  return published
    .filter((p) => p.version === version)
    .reduce<PublishedImage | undefined>((a, p) => (a && a.epoch >= p.epoch ? a : p), undefined);
}
