import { createHash } from 'node:crypto';

/*
 * When each recipe is next checked. Checks are spread over the interval by a stable hash of the
 * recipe's name (so a restart keeps the spread) plus jitter (so recipes added together drift apart),
 * and failures back off exponentially, never beyond one interval.
 */

/** A stable fraction in [0, 1) for a name. */
export function hashFraction(name: string): number {
  return createHash('sha256').update(name).digest().readUInt32BE(0) / 2 ** 32;
}

/**
 * Delay of a recipe's first check: spread over `spreadMs`, which grows with the number of
 * recipes (50 ms each) but never beyond one interval, so a handful of recipes start at once and
 * thousands do not arrive in one burst.
 */
export function firstCheckDelay(name: string, recipeCount: number, intervalMs: number): number {
  const spread = Math.min(intervalMs, recipeCount * 50);
  return Math.floor(hashFraction(name) * spread);
}

/** The interval with ±`fraction` jitter. */
export function jittered(intervalMs: number, fraction = 0.1, random = Math.random): number {
  return Math.round(intervalMs * (1 - fraction + 2 * fraction * random()));
}

/** Delay before retrying after `failures` transient failures in a row: 15 s, 30 s, 60 s … ≤ interval. */
export function backoff(
  failures: number,
  intervalMs: number,
  retryAfterMs?: number,
  baseMs = 15_000,
): number {
  const exp = Math.min(intervalMs, baseMs * 2 ** Math.max(0, failures - 1));
  return Math.max(retryAfterMs ?? 0, jittered(exp, 0.2));
}
