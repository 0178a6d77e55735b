import { PermanentError, TransientError } from './errors.ts';
import { maskSecrets } from './log.ts';

/**
 * kiln's one map from an HTTP answer to its two kinds of failure, as Renovate's host errors:
 * 429 and 5xx are transient (retry with backoff, honouring Retry-After), 404/410 mean the thing
 * asked for is not there, any other answer that is not a success is refused for good. Each caller
 * keeps only its special cases (GitHub's rate limits, a registry's 401 challenge, a mirror's
 * 304) in front of it.
 */

/** An answer kiln will not retry: `status` says which (a mirror's 4xx, a registry's 400). */
export class HttpStatusError extends PermanentError {
  constructor(
    message: string,
    readonly status: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** 404 or 410: the file, package or repository is not there. */
export class HttpNotFoundError extends HttpStatusError {}

/** What a failed request was, for {@link httpStatusError}. */
export interface HttpFailure {
  /** What was being done, to what: `fetching npm package left-pad from <url>`. */
  what: string;
  status: number;
  /** The answer's headers, for Retry-After. */
  headers?: { get(name: string): string | null | undefined };
  /** Who answered, for `<by> answered HTTP 503`; without it the message says `HTTP 503`. */
  by?: string;
  /** What the server said, appended in parentheses (a registry's error code and message). */
  detail?: string;
  cause?: unknown;
  /** Builds the error of a 404/410 instead of {@link HttpNotFoundError} (a source's own class). */
  notFound?: (message: string, status: number) => PermanentError;
}

/** Whether a status is worth retrying: a rate limit or a server error. */
export function isTransientStatus(status: number): boolean {
  return status === 429 || status >= 500;
}

/**
 * The error for an answer that is not a success. The message names what was fetched and the
 * status; credentials in a URL and registered secrets never reach it.
 */
export function httpStatusError(failure: HttpFailure): TransientError | PermanentError {
  const { status } = failure;
  const by = failure.by ? `${failure.by} answered ` : '';
  const detail = failure.detail ? ` (${failure.detail})` : '';
  const message = safeMessage(`${failure.what}: ${by}HTTP ${status}${detail}`);
  const options = failure.cause === undefined ? {} : { cause: failure.cause };
  if (isTransientStatus(status)) {
    const retryAfterMs = parseRetryAfter(failure.headers?.get('retry-after'));
    return new TransientError(message, { ...options, retryAfterMs });
  }
  if (status === 404 || status === 410) {
    return failure.notFound?.(message, status) ?? new HttpNotFoundError(message, status, options);
  }
  return new HttpStatusError(message, status, options);
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

/** A URL without user name and password, for messages. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    u.username = '';
    u.password = '';
    return u.toString();
  } catch {
    return '(invalid URL)';
  }
}

/** Drops `user:password@` from any URL in the text and masks the secrets the logger knows. */
export function safeMessage(text: string): string {
  return maskSecrets(text.replace(/\b([a-z][a-z0-9+.-]*:\/\/)[^/\s@]+@/gi, '$1'));
}
