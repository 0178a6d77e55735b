import { PermanentError, TransientError } from '../errors.ts';

/** The upstream does not exist (HTTP 404): a recipe to fix, not a request to retry. */
export class UpstreamNotFoundError extends PermanentError {}

/**
 * A source's rate limit is spent until `resetAt`: the watcher pauses every check of that source
 * (not just this one) and lets other sources go on.
 */
export class RateLimitedError extends TransientError {
  constructor(
    message: string,
    readonly resetAt: number,
    options?: { cause?: unknown },
  ) {
    super(message, { ...options, retryAfterMs: Math.max(0, resetAt - Date.now()) });
  }
}

/** `Retry-After` as milliseconds: either delta-seconds or an HTTP date. */
export function parseRetryAfter(
  value: string | null | undefined,
  now = Date.now(),
): number | undefined {
  if (!value) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const date = Date.parse(trimmed);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}
