import type { CatalogReader } from './catalog-reader.ts';

/*
 * Caches a rendered response under a key that names everything the response depends on (the
 * catalog's revision, and for time-dependent parts the time window or the set of stale images).
 * Concurrent requests for the same key share one render, so a burst costs one render.
 */

export interface ResponseCache {
  /** The response body, encoded once (UTF-8) rather than for every request. */
  get(): Promise<Buffer>;
}

export function responseCache(
  keyOf: (now: number) => Promise<string>,
  render: (now: number) => Promise<string>,
): ResponseCache {
  let entry: { key: string; value: Promise<Buffer> } | undefined;
  return {
    async get() {
      const now = Date.now();
      const key = await keyOf(now);
      if (entry?.key === key) return entry.value;
      const value = render(now).then((body) => Buffer.from(body));
      const current = { key, value };
      entry = current;
      // A failed render is not cached: the next request tries again.
      value.catch(() => {
        if (entry === current) entry = undefined;
      });
      return value;
    },
  };
}

/**
 * A list response cached by the catalog's revision plus `timeKey` (what its time-dependent part
 * depends on) when the reader has a revision; otherwise rendered for each request.
 */
export function catalogCache(
  catalog: CatalogReader,
  timeKey: (now: number) => string | Promise<string>,
  render: (now: number) => Promise<string>,
): ResponseCache {
  const revision = catalog.revision;
  if (!revision) return { get: async () => Buffer.from(await render(Date.now())) };
  return responseCache(
    async (now) => `${await revision.call(catalog)}@${await timeKey(now)}`,
    render,
  );
}
