import { PermanentError, TransientError } from '../../errors.ts';
import { httpStatusError, parseRetryAfter } from '../../http-errors.ts';
import { RateLimitedError, UpstreamNotFoundError } from '../errors.ts';

interface OctokitLikeError {
  status?: number;
  message: string;
  response?: { headers?: Record<string, string | number | undefined>; data?: unknown };
}

function isOctokitError(error: unknown): error is OctokitLikeError {
  return error instanceof Error && ('status' in error || 'response' in error);
}

function statusOf(error: unknown): number | undefined {
  return typeof error === 'object' &&
    error !== null &&
    'status' in error &&
    typeof error.status === 'number'
    ? error.status
    : undefined;
}

/** Whether a failed GraphQL batch should be retried smaller: a gateway error or a timeout. */
export function isShrinkable(error: unknown): boolean {
  if (error instanceof BatchTooLargeError) return true;
  if (!(error instanceof Error)) return false;
  if (error.name === 'TimeoutError' || error.name === 'AbortError') return true;
  const cause = error.cause;
  if (cause instanceof Error && (cause.name === 'TimeoutError' || cause.name === 'AbortError'))
    return true;
  const status = statusOf(error);
  return (
    status === 502 ||
    status === 503 ||
    status === 504 ||
    (status === 500 && /Something went wrong/.test(error.message))
  );
}

/** GitHub refused a GraphQL query as too large (MAX_NODE_LIMIT_EXCEEDED and kin). */
export class BatchTooLargeError extends TransientError {}

/** Maps an Octokit failure to kiln's error kinds, naming what was being fetched. */
export function mapGithubError(error: unknown, what: string): Error {
  const known = alreadyMapped(error);
  if (known) return known;
  if (!isOctokitError(error)) {
    return new TransientError(
      `${what}: ${error instanceof Error ? error.message : String(error)}`,
      { cause: error },
    );
  }
  return rateLimitError(error, what) ?? statusError(error, what);
}

/** A kiln error, as is; Octokit wraps what our fetch threw (a body over the cap) in a RequestError 500: unwrap it. */
function alreadyMapped(error: unknown): PermanentError | TransientError | undefined {
  if (error instanceof PermanentError || error instanceof TransientError) return error;
  if (
    error instanceof Error &&
    (error.cause instanceof PermanentError || error.cause instanceof TransientError)
  )
    return error.cause;
  return undefined;
}

/** The primary (remaining 0, RATE_LIMITED) or secondary (403/429 with Retry-After) rate limit. */
function rateLimitError(error: OctokitLikeError, what: string): RateLimitedError | undefined {
  const status = error.status ?? 0;
  const headers = error.response?.headers ?? {};
  const data = error.response?.data;
  const rateLimited =
    headers['x-ratelimit-remaining'] === '0' ||
    headers['x-ratelimit-remaining'] === 0 ||
    /GraphQL Rate Limit Exceeded/.test(error.message) ||
    JSON.stringify(data ?? '').includes('RATE_LIMITED');
  if (rateLimited) {
    const reset = Number(headers['x-ratelimit-reset']);
    const resetAt = Number.isFinite(reset) && reset > 0 ? reset * 1000 : Date.now() + 60_000;
    return new RateLimitedError(
      `${what}: GitHub rate limit exhausted until ${new Date(resetAt).toISOString()}`,
      resetAt,
      { cause: error },
    );
  }
  if (
    (status === 403 || status === 429) &&
    (/secondary rate/i.test(error.message) || headers['retry-after'] !== undefined)
  ) {
    const wait = parseRetryAfter(String(headers['retry-after'] ?? '')) ?? 60_000;
    return new RateLimitedError(
      `${what}: GitHub secondary rate limit, retry after ${Math.ceil(wait / 1000)}s`,
      Date.now() + wait,
      { cause: error },
    );
  }
  return undefined;
}

/** 401 and no answer are GitHub's own cases; every other status goes to the one mapper. */
function statusError(error: OctokitLikeError, what: string): Error {
  const status = error.status ?? 0;
  const headers = error.response?.headers ?? {};
  if (status === 401)
    return new PermanentError(
      `${what}: GitHub rejected the credentials (401); check GITHUB_TOKEN`,
      { cause: error },
    );
  if (status === 0) {
    return new TransientError(`${what}: GitHub answered nothing: ${error.message}`, {
      cause: error,
    });
  }
  return httpStatusError({
    what,
    status,
    by: 'GitHub',
    detail: error.message,
    headers: { get: (name) => (headers[name] === undefined ? undefined : String(headers[name])) },
    cause: error,
    notFound: (_message, code) =>
      new UpstreamNotFoundError(`${what}: repository not found on GitHub (${code})`, {
        cause: error,
      }),
  });
}
