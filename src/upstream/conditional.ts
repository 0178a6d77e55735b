import type { z } from 'zod';
import { TransientError } from '../errors.ts';
import { httpGet, parseJson } from './http.ts';
import { toFetchResult, type RawRelease } from './release.ts';
import type { FetchResult, SourceContext } from './types.ts';

export interface ConditionalJsonRequest<S extends z.ZodType> {
  /** Cache key: source id and reference, e.g. `npm:left-pad`. */
  key: string;
  url: string;
  what: string;
  schema: S;
  headers?: Record<string, string>;
  toReleases(data: z.output<S>): RawRelease[];
}

/**
 * One conditional JSON GET, the shape most registries share: send the cached validators, return
 * the cached releases on 304, otherwise parse, validate and cache the new answer.
 */
export async function fetchConditionalJson<S extends z.ZodType>(
  ctx: SourceContext,
  request: ConditionalJsonRequest<S>,
): Promise<FetchResult> {
  const cached = await ctx.cache.get(request.key);
  let response = await httpGet(ctx, request.url, {
    what: request.what,
    headers: request.headers,
    validators: cached,
  });
  if (response.status === 304) {
    if (cached) return { releases: cached.releases, unchanged: true, rejected: [] };
    // A 304 without a cached answer (cache evicted between calls): ask again unconditionally.
    response = await httpGet(ctx, request.url, { what: request.what, headers: request.headers });
  }
  if (!('body' in response))
    throw new TransientError(`${request.what}: got 304 to an unconditional request`);
  const data = parseJson(response.body, request.schema, request.what);
  const result = toFetchResult(request.what, request.toReleases(data));
  await ctx.cache.set(request.key, {
    etag: response.etag,
    lastModified: response.lastModified,
    releases: result.releases,
  });
  return result;
}
