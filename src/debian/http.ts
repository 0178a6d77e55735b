import { PermanentError, TransientError } from '../errors.ts';

/** Options for one archive request. */
export interface FetchOptions {
  signal?: AbortSignal;
  /** Per-request timeout; the archive is large but each file is bounded. */
  timeoutMs?: number;
  /** Conditional request headers (If-None-Match / If-Modified-Since). */
  headers?: Record<string, string>;
}

export interface FetchedBytes {
  status: 200 | 304;
  body: Buffer;
  etag: string | undefined;
  lastModified: string | undefined;
}

/**
 * GETs a file from a mirror. 5xx, 429 and network failures are transient (the mirror may come
 * back); 404 and other 4xx are permanent (the file is not there, retrying will not help).
 */
export async function fetchBytes(
  url: string,
  what: string,
  options: FetchOptions = {},
): Promise<FetchedBytes> {
  const timeout = AbortSignal.timeout(options.timeoutMs ?? 120_000);
  const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;
  let response: Response;
  try {
    response = await fetch(url, { signal, headers: options.headers, redirect: 'follow' });
  } catch (cause) {
    if (options.signal?.aborted) throw cause;
    throw new TransientError(`fetching ${what} from ${url}: network error`, { cause });
  }
  const etag = response.headers.get('etag') ?? undefined;
  const lastModified = response.headers.get('last-modified') ?? undefined;
  if (response.status === 304) return { status: 304, body: Buffer.alloc(0), etag, lastModified };
  if (response.status >= 500 || response.status === 429) {
    const retryAfter = Number(response.headers.get('retry-after'));
    await response.body?.cancel();
    throw new TransientError(`fetching ${what} from ${url}: HTTP ${response.status}`, {
      retryAfterMs: Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter * 1000 : undefined,
    });
  }
  if (!response.ok) {
    await response.body?.cancel();
    throw new PermanentError(`fetching ${what} from ${url}: HTTP ${response.status}`);
  }
  try {
    return { status: 200, body: Buffer.from(await response.arrayBuffer()), etag, lastModified };
  } catch (cause) {
    if (options.signal?.aborted) throw cause;
    throw new TransientError(`reading ${what} from ${url}: connection broke`, { cause });
  }
}
