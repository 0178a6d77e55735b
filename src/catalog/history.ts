import { looksLikeBuildTag, tagText } from '../plan/tags.ts';
import type { TagEvent } from './record.ts';

/*
 * A floating tag's history: every digest it has pointed at, with when, from the tag events the
 * publish job records (store.ts `P:catalog:R:history`). An image's own exact tag (`X.Y.Z-rN`, a
 * variant's `X.Y.Z-rN-dev`) and build tags never move, so they are not histories.
 */

/** One position of a tag: it pointed at `digest` (`version`-r`epoch`) from `at` on. */
export interface TagPoint {
  digest: string;
  version: string;
  epoch: number;
  at: string;
}

/** One floating tag of one image (a recipe or one of its variants), oldest position first. */
export interface FloatingTagHistory {
  image: string;
  tag: string;
  points: TagPoint[];
}

/** Whether a tag event is of a tag that moves: neither the image's exact tag nor a build tag. */
export function isFloatingTag(event: Pick<TagEvent, 'tag' | 'version' | 'epoch'>): boolean {
  const exact = `${tagText(event.version)}-r${event.epoch}`;
  if (event.tag === exact) return false;
  if (
    event.tag.startsWith(`${exact}-`) &&
    /^[a-z][a-z0-9]*$/.test(event.tag.slice(exact.length + 1))
  )
    return false;
  return !looksLikeBuildTag(event.tag);
}

/** Each floating tag of `image` with every digest it pointed at, oldest first, by tag name. */
export function floatingTagHistories(
  image: string,
  events: readonly TagEvent[],
): FloatingTagHistory[] {
  const byTag = new Map<string, TagPoint[]>();
  const chronological = [...events].sort((a, b) => a.at.localeCompare(b.at));
  for (const e of chronological) {
    if (!isFloatingTag(e)) continue;
    const points = byTag.get(e.tag) ?? [];
    // A re-publish that left the tag where it was is no move.
    if (points.at(-1)?.digest !== e.digest)
      points.push({ digest: e.digest, version: e.version, epoch: e.epoch, at: e.at });
    byTag.set(e.tag, points);
  }
  return [...byTag]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([tag, points]) => ({ image, tag, points }));
}
