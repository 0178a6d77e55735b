import { PermanentError, TransientError } from '../errors.ts';

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

/** A mirror's 4xx answer: the file is not there. Permanent for this mirror; another may have it. */
export class HttpRefusal extends PermanentError {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
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
    throw new HttpRefusal(`fetching ${what} from ${url}: HTTP ${response.status}`, response.status);
  }
  const tooLarge = (): PermanentError =>
    new PermanentError(
      `fetching ${what} from ${url}: the body is larger than the ${options.maxBytes} bytes expected`,
    );
  const declared = Number(response.headers.get('content-length'));
  if (options.maxBytes !== undefined && declared > options.maxBytes) {
    await response.body?.cancel();
    throw tooLarge();
  }
  try {
    return {
      status: 200,
      body: await readBody(response, options.maxBytes, tooLarge),
      etag,
      lastModified,
    };
  } catch (cause) {
    if (cause instanceof PermanentError || options.signal?.aborted) throw cause;
    throw new TransientError(`reading ${what} from ${url}: connection broke`, { cause });
  }
}

/** Reads a body, stopping as soon as it passes `maxBytes`. */
async function readBody(
  response: Response,
  maxBytes: number | undefined,
  tooLarge: () => Error,
): Promise<Buffer> {
  if (!response.body) return Buffer.alloc(0);
  const chunks: Uint8Array[] = [];
  let length = 0;
  for await (const chunk of response.body) {
    length += chunk.length;
    // Throwing ends the iteration, which cancels the stream.
    if (maxBytes !== undefined && length > maxBytes) throw tooLarge();
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, length);
}
