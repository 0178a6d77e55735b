import { fetch, type Response } from 'undici';
import type { z } from 'zod';
import { PermanentError, TransientError } from '../errors.ts';
import { httpStatusError, redactUrl } from '../http-errors.ts';
import { readCapped as readCappedBody } from '../oci/read-body.ts';
import { UpstreamNotFoundError } from './errors.ts';
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
    throw new TransientError(
      `fetching ${options.what} from ${redactUrl(url)}: ${errorText(cause)}`,
      {
        cause,
      },
    );
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
  const where = `fetching ${options.what} from ${redactUrl(url)}`;
  throw httpStatusError({
    what: where,
    status,
    headers: response.headers,
    notFound: () => new UpstreamNotFoundError(`${where}: not found (HTTP ${status})`),
  });
}

/**
 * Reads a response body, giving up as soon as it passes `max` bytes (through the one capped
 * reader, src/oci/read-body.ts); a connection that breaks mid-body is transient.
 */
export async function readCapped(response: Response, max: number, what: string): Promise<Buffer> {
  try {
    return await readCappedBody(response, {
      maxBytes: max,
      what,
      tooLarge: (limit, detail) =>
        new PermanentError(`${what}: response is larger than the ${limit}-byte limit (${detail})`),
    });
  } catch (cause) {
    if (cause instanceof PermanentError) throw cause;
    throw new TransientError(`${what}: reading the response: ${errorText(cause)}`, { cause });
  }
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

function errorText(error: unknown): string {
  if (error instanceof Error) {
    const cause = error.cause instanceof Error ? `: ${error.cause.message}` : '';
    return `${error.message}${cause}`;
  }
  return String(error);
}
