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
