import type { CatalogRecord, UpstreamSeen } from './record.ts';

/*
 * Freshness is the time from an upstream release to its signed image being tagged, fixed at
 * publish time. Staleness is the other side: an upstream release kiln has seen but not published.
 */

/** `publishedAt − upstream.releasedAt` in milliseconds; undefined when the release time is unknown. */
export function freshnessMs(
  record: Pick<CatalogRecord, 'publishedAt' | 'upstream'>,
): number | undefined {
  if (!record.upstream.releasedAt) return undefined;
  // A clock skew between upstream and us must not show as negative freshness.
  return Math.max(0, Date.parse(record.publishedAt) - Date.parse(record.upstream.releasedAt));
}

/** The q-quantile (0..1) of values by linear interpolation between closest ranks; undefined if empty. */
export function quantile(values: readonly number[], q: number): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  const a = sorted[lo]!;
  const b = sorted[hi]!;
  return a + (b - a) * (pos - lo);
}

export interface FreshnessSummary {
  /** Images with a known upstream release time. */
  count: number;
  medianMs: number | undefined;
  p95Ms: number | undefined;
}

/** Median and 95th percentile of freshness across images (one value per image). */
export function summariseFreshness(values: readonly (number | undefined)[]): FreshnessSummary {
  const known = values.filter((v): v is number => v !== undefined);
  return { count: known.length, medianMs: quantile(known, 0.5), p95Ms: quantile(known, 0.95) };
}

export interface Staleness {
  stale: boolean;
  /** Oldest upstream release newer than everything published, if any. */
  pending: UpstreamSeen | undefined;
  /** How long that release has waited, at `now`. */
  waitingMs: number | undefined;
}

/**
 * An image is stale when upstream has had a release newer than every published one (by release
 * time, so it works for every version scheme) that is not published, for longer than `staleAfterMs`.
 * Release time rather than version order: a backport released later is still work waiting.
 */
export function staleness(
  published: readonly Pick<CatalogRecord, 'version' | 'upstream' | 'publishedAt'>[],
  seen: readonly UpstreamSeen[],
  staleAfterMs: number,
  now: number,
): Staleness {
  const publishedVersions = new Set(published.map((r) => r.version));
  const newestPublished = Math.max(
    -Infinity,
    ...published.map((r) => Date.parse(r.upstream.releasedAt ?? r.publishedAt)),
  );
  const pending = seen
    .filter((s) => !publishedVersions.has(s.version) && Date.parse(s.releasedAt) > newestPublished)
    .sort((a, b) => Date.parse(a.releasedAt) - Date.parse(b.releasedAt))[0];
  if (!pending) return { stale: false, pending: undefined, waitingMs: undefined };
  const waitingMs = Math.max(0, now - Date.parse(pending.releasedAt));
  return { stale: waitingMs > staleAfterMs, pending, waitingMs };
}
