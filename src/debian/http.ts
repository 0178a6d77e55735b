import { PermanentError, TransientError } from '../errors.ts';
import { httpStatusError, safeMessage } from '../http-errors.ts';
import { readCapped } from '../oci/read-body.ts';

/** Options for one archive request. */
export interface FetchOptions {
  signal?: AbortSignal;
  /** Per-request timeout; the archive is large but each file is bounded. */
  timeoutMs?: number;
  /** Conditional request headers (If-None-Match / If-Modified-Since). */
  headers?: Record<string, string>;
  /**
   * The most bytes the body may have (an index's InRelease size, a .deb's index size): a larger
   * answer is refused as soon as it is known, never read whole.
   */
  maxBytes?: number;
}

export interface FetchedBytes {
  status: 200 | 304;
  body: Buffer;
  etag: string | undefined;
  lastModified: string | undefined;
}

/**
 * A mirror's 4xx answer: the file is not there. Permanent for this mirror; another may have it.
 * (The mapper's permanent error, with the status; a 404 is its {@link HttpNotFoundError}.)
 */
export { HttpStatusError as HttpRefusal } from '../http-errors.ts';

/**
 * GETs a file from a mirror. 5xx, 429 and network failures are transient (the mirror may come
 * back); 404 and other 4xx are permanent (the file is not there, retrying will not help).
 */
export async function fetchBytes(
  url: string,
  what: string,
  options: FetchOptions = {},
): Promise<FetchedBytes> {
  // A mirror URL may carry apt credentials: no message shows them.
  const from = safeMessage(`${what} from ${url}`);
  const timeout = AbortSignal.timeout(options.timeoutMs ?? 120_000);
  const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;
  let response: Response;
  try {
    response = await fetch(url, { signal, headers: options.headers, redirect: 'follow' });
  } catch (cause) {
    if (options.signal?.aborted) throw cause;
    throw new TransientError(`fetching ${from}: network error`, { cause });
  }
  const etag = response.headers.get('etag') ?? undefined;
  const lastModified = response.headers.get('last-modified') ?? undefined;
  if (response.status === 304) return { status: 304, body: Buffer.alloc(0), etag, lastModified };
  if (!response.ok) {
    await response.body?.cancel();
    throw httpStatusError({
      what: `fetching ${from}`,
      status: response.status,
      headers: response.headers,
    });
  }
  const tooLarge = (): PermanentError =>
    new PermanentError(
      `fetching ${from}: the body is larger than the ${options.maxBytes} bytes expected`,
    );
  try {
    return {
      status: 200,
      body: await readCapped(response, {
        maxBytes: options.maxBytes ?? Number.POSITIVE_INFINITY,
        what,
        tooLarge,
      }),
      etag,
      lastModified,
    };
  } catch (cause) {
    if (cause instanceof PermanentError || options.signal?.aborted) throw cause;
    throw new TransientError(`reading ${from}: connection broke`, { cause });
  }
}
