import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { z } from 'zod';
import { PermanentError, TransientError } from '../errors.ts';
import { httpStatusError } from '../http-errors.ts';

/*
 * KILN_VULN_FEED as a URL: fetched with a conditional GET (If-None-Match / If-Modified-Since from
 * the last answer), streamed to disk while hashed (the 70 MB body is never in memory), and kept
 * content-addressed like the Debian indexes: `<cache>/vuln/blobs/sha256/<hex>`, with the URL's
 * validators in `<cache>/vuln/feeds/<sha256(url)>.json`. A cached copy is hashed again before use.
 */

/** The most a feed body may be; the real tracker feed is about 70 MB. */
export const maxFeedBytes = 1024 * 1024 * 1024;

export interface FetchedFeed {
  /** The cached file holding the feed. */
  file: string;
  digest: string;
  /** `fetched` (200), `not-modified` (304), or `stale` (the server failed; the last copy is used). */
  outcome: 'fetched' | 'not-modified' | 'stale';
  /** Why a stale copy was used. */
  warning?: string;
}

const metaSchema = z.object({
  url: z.string(),
  digest: z.string().regex(/^sha256:[a-f0-9]{64}$/),
  etag: z.string().optional(),
  lastModified: z.string().optional(),
});
type Meta = z.infer<typeof metaSchema>;

const sha256 = (s: string): string => createHash('sha256').update(s).digest('hex');

function blobPath(cacheDir: string, digest: string): string {
  return path.join(cacheDir, 'vuln', 'blobs', 'sha256', digest.replace(/^sha256:/, ''));
}

function metaPath(cacheDir: string, url: string): string {
  return path.join(cacheDir, 'vuln', 'feeds', `${sha256(url)}.json`);
}

async function readMeta(cacheDir: string, url: string): Promise<Meta | undefined> {
  const text = await readFile(metaPath(cacheDir, url), 'utf8').catch(() => undefined);
  if (text === undefined) return undefined;
  try {
    const meta = metaSchema.parse(JSON.parse(text));
    return meta.url === url ? meta : undefined;
  } catch {
    return undefined;
  }
}

/** The digest of a file, streamed. */
export async function fileDigest(file: string): Promise<string | undefined> {
  const hash = createHash('sha256');
  try {
    await pipeline(createReadStream(file), hash);
  } catch {
    return undefined;
  }
  return `sha256:${hash.digest('hex')}`;
}

/** The cached copy named by `meta`, if it is there and still matches its digest. */
async function cachedCopy(cacheDir: string, meta: Meta | undefined): Promise<string | undefined> {
  if (!meta) return undefined;
  const file = blobPath(cacheDir, meta.digest);
  return (await fileDigest(file)) === meta.digest ? file : undefined;
}

/**
 * Fetches the feed at `url` into the cache, or confirms the cached copy with a 304. A 5xx, 429 or
 * network failure is a TransientError unless a cached copy exists (then it is used, `stale`);
 * a 4xx is a PermanentError.
 */
export async function fetchFeed(
  url: string,
  cacheDir: string,
  options: { signal?: AbortSignal; timeoutMs?: number } = {},
): Promise<FetchedFeed> {
  const meta = await readMeta(cacheDir, url);
  const cached = await cachedCopy(cacheDir, meta);
  const headers: Record<string, string> = {};
  if (cached && meta?.etag) headers['if-none-match'] = meta.etag;
  if (cached && meta?.lastModified) headers['if-modified-since'] = meta.lastModified;
  const timeout = AbortSignal.timeout(options.timeoutMs ?? 10 * 60_000);
  const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;

  const staleOr = (error: TransientError): FetchedFeed => {
    if (!cached || !meta) throw error;
    return { file: cached, digest: meta.digest, outcome: 'stale', warning: error.message };
  };

  let response: Response;
  try {
    response = await fetch(url, { headers, signal, redirect: 'follow' });
  } catch (cause) {
    if (options.signal?.aborted) throw cause;
    return staleOr(
      new TransientError(`fetching the vulnerability feed ${url}: network error`, { cause }),
    );
  }
  if (response.status === 304 && cached && meta)
    return { file: cached, digest: meta.digest, outcome: 'not-modified' };
  if (response.status !== 200 || !response.body) {
    await response.body?.cancel();
    const { status, headers } = response;
    const error = httpStatusError({
      what: `fetching the vulnerability feed ${url}`,
      status,
      headers,
    });
    // A feed that is down for a while is no reason to stop scanning with the copy we have.
    if (error instanceof TransientError) return staleOr(error);
    throw error;
  }
  const declared = Number(response.headers.get('content-length'));
  if (declared > maxFeedBytes) {
    await response.body.cancel();
    throw new PermanentError(
      `fetching the vulnerability feed ${url}: ${declared} bytes is more than the ${maxFeedBytes} allowed`,
    );
  }
  let digest: string;
  let file: string;
  try {
    ({ digest, file } = await storeBody(response.body, cacheDir, url));
  } catch (cause) {
    if (cause instanceof PermanentError || options.signal?.aborted) throw cause;
    return staleOr(
      new TransientError(`reading the vulnerability feed ${url}: connection broke`, { cause }),
    );
  }
  const next: Meta = {
    url,
    digest,
    ...(response.headers.get('etag') ? { etag: response.headers.get('etag') ?? '' } : {}),
    ...(response.headers.get('last-modified')
      ? { lastModified: response.headers.get('last-modified') ?? '' }
      : {}),
  };
  const target = metaPath(cacheDir, url);
  await mkdir(path.dirname(target), { recursive: true });
  await writeFile(`${target}.tmp-${process.pid}`, JSON.stringify(next));
  await rename(`${target}.tmp-${process.pid}`, target);
  return { file, digest, outcome: 'fetched' };
}

/** Streams a body to a temporary file while hashing, then moves it to its content address. */
async function storeBody(
  body: ReadableStream<Uint8Array>,
  cacheDir: string,
  url: string,
): Promise<{ digest: string; file: string }> {
  const dir = path.join(cacheDir, 'vuln', 'blobs', 'sha256');
  await mkdir(dir, { recursive: true });
  const tmp = path.join(dir, `.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`);
  const hash = createHash('sha256');
  let size = 0;
  const meter = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      size += chunk.length;
      if (size > maxFeedBytes) {
        done(
          new PermanentError(
            `fetching the vulnerability feed ${url}: the body is larger than the ${maxFeedBytes} bytes allowed`,
          ),
        );
        return;
      }
      hash.update(chunk);
      done(null, chunk);
    },
  });
  try {
    await pipeline(Readable.fromWeb(body), meter, createWriteStream(tmp));
  } catch (error) {
    await rm(tmp, { force: true });
    throw error;
  }
  const digest = `sha256:${hash.digest('hex')}`;
  const file = blobPath(cacheDir, digest);
  await rename(tmp, file);
  return { digest, file };
}
