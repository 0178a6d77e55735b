import { isTransient } from '../errors.ts';

/** The backoff type name jobs ask for; the worker's strategy below answers it. */
export const backoffType = 'kiln';

/**
 * Exponential backoff with jitter, never shorter than the upstream's Retry-After.
 * attempt 1 → ~base, 2 → ~2·base, … capped at `maxMs`.
 */
export function backoffDelay(
  attemptsMade: number,
  error: unknown,
  baseMs: number,
  maxMs = 10 * 60_000,
): number {
  const exponential = Math.min(maxMs, baseMs * 2 ** Math.max(0, attemptsMade - 1));
  const jittered = Math.round(exponential * (0.8 + Math.random() * 0.4));
  const retryAfter = isTransient(error) ? (error.retryAfterMs ?? 0) : 0;
  return Math.max(jittered, retryAfter);
}
