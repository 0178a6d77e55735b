import { fetch, type Response } from 'undici';
import type { z } from 'zod';
import { PermanentError, TransientError } from '../errors.ts';
import { UpstreamNotFoundError, parseRetryAfter } from './errors.ts';
import type { SourceContext } from './types.ts';

export interface Validators {
  etag?: string | undefined;
  lastModified?: string | undefined;
}

export interface GetOptions {
  /** What is being fetched, for error messages: `npm package left-pad`. */
  what: string;
  headers?: Record<string, string>;
  validators?: Validators;
  /** Statuses returned to the caller instead of mapped to errors (e.g. 401 for token auth). */
  passStatuses?: number[];
}

export type GetResult =
  | { status: 304 }
  | {
      status: number;
      body: Buffer;
      etag: string | undefined;
      lastModified: string | undefined;
      headers: Response['headers'];
    };

/**
 * GET with conditional validators, a timeout and a body size cap enforced while streaming.
 * 404/410 → UpstreamNotFoundError; 429/5xx/network → TransientError (Retry-After honoured);
 * other 4xx → PermanentError.
 */
export async function httpGet(
  ctx: SourceContext,
  url: string,
  options: GetOptions,
): Promise<GetResult> {
  const headers: Record<string, string> = { 'user-agent': 'kiln', ...options.headers };
  if (options.validators?.etag) headers['if-none-match'] = options.validators.etag;
  if (options.validators?.lastModified)
    headers['if-modified-since'] = options.validators.lastModified;
  let response: Response;
  try {
    response = await fetch(url, {
      headers,
      signal: AbortSignal.timeout(ctx.timeoutMs),
      redirect: 'follow',
    });
  } catch (cause) {
    throw new TransientError(`fetching ${options.what} from ${redact(url)}: ${errorText(cause)}`, {
      cause,
    });
  }
  const status = response.status;
  if (status === 304) {
    await response.body?.cancel();
    return { status: 304 };
  }
  if (options.passStatuses?.includes(status) || (status >= 200 && status < 300)) {
    const body = await readCapped(response, ctx.maxBodyBytes, options.what);
    return {
      status,
      body,
      etag: response.headers.get('etag') ?? undefined,
      lastModified: response.headers.get('last-modified') ?? undefined,
      headers: response.headers,
    };
  }
  await response.body?.cancel();
  const where = `fetching ${options.what} from ${redact(url)}`;
  if (status === 404 || status === 410)
    throw new UpstreamNotFoundError(`${where}: not found (HTTP ${status})`);
  if (status === 429 || status >= 500) {
    throw new TransientError(`${where}: HTTP ${status}`, {
      retryAfterMs: parseRetryAfter(response.headers.get('retry-after')),
    });
  }
  throw new PermanentError(`${where}: HTTP ${status}`);
}

/** Reads a response body, giving up as soon as it passes `max` bytes. */
export async function readCapped(response: Response, max: number, what: string): Promise<Buffer> {
  const declared = Number(response.headers.get('content-length') ?? NaN);
  if (declared > max) {
    await response.body?.cancel();
    throw new PermanentError(
      `${what}: response of ${declared} bytes is larger than the ${max}-byte limit`,
    );
  }
  if (!response.body) return Buffer.alloc(0);
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of response.body) {
      size += chunk.byteLength;
      if (size > max) {
        throw new PermanentError(`${what}: response is larger than the ${max}-byte limit`);
      }
      chunks.push(Buffer.from(chunk));
    }
  } catch (cause) {
    if (cause instanceof PermanentError) throw cause;
    throw new TransientError(`${what}: reading the response: ${errorText(cause)}`, { cause });
  }
  return Buffer.concat(chunks, size);
}

/** Parses JSON and checks it against a schema; malformed or unexpected data is permanent. */
export function parseJson<S extends z.ZodType>(
  body: Buffer | string,
  schema: S,
  what: string,
): z.output<S> {
  let data: unknown;
  try {
    data = JSON.parse(typeof body === 'string' ? body : body.toString('utf8'));
  } catch (cause) {
    throw new PermanentError(`${what}: malformed JSON: ${errorText(cause)}`, { cause });
  }
  return checkShape(data, schema, what);
}

/** Checks already-parsed data against a schema; unexpected data is permanent. */
export function checkShape<S extends z.ZodType>(
  data: unknown,
  schema: S,
  what: string,
): z.output<S> {
  const result = schema.safeParse(data);
  if (!result.success) {
    const issue = result.error.issues[0];
    throw new PermanentError(
      `${what}: unexpected response: ${issue ? `${issue.path.join('.') || '(root)'}: ${issue.message}` : 'invalid'}`,
      { cause: result.error },
    );
  }
  return result.data;
}

/** Joins a base URL and a path without doubling or losing slashes. */
export function joinUrl(base: string, ...parts: string[]): string {
  return [base.replace(/\/+$/, ''), ...parts.map((p) => p.replace(/^\/+/, ''))].join('/');
}

/** A URL without credentials, for messages. */
export function redact(url: string): string {
  try {
    const u = new URL(url);
    u.username = '';
    u.password = '';
    return u.toString();
  } catch {
    return '(invalid URL)';
  }
}

function errorText(error: unknown): string {
  if (error instanceof Error) {
    const cause = error.cause instanceof Error ? `: ${error.cause.message}` : '';
    return `${error.message}${cause}`;
  }
  return String(error);
}
