/*
 * Caches a rendered response per catalog revision and wall-clock second. The catalog changes
 * only when something is published or an upstream release is seen (each bumps the revision);
 * what changes with time alone (staleness, waiting time) may lag by up to `windowMs`. Concurrent
 * requests for the same key share one computation, so a burst costs one render.
 */

export interface ResponseCache {
  /** The response body, encoded once (UTF-8) rather than for every request. */
  get(): Promise<Buffer>;
}

export function responseCache(
  revision: () => Promise<string>,
  render: (now: number) => Promise<string>,
  windowMs = 5000,
): ResponseCache {
  let entry: { key: string; value: Promise<Buffer> } | undefined;
  return {
    async get() {
      const now = Date.now();
      const key = `${await revision()}@${Math.floor(now / windowMs)}`;
      if (entry?.key !== key) {
        const value = render(now).then((body) => Buffer.from(body));
        const current = { key, value };
        entry = current;
        // A failed render is not cached: the next request tries again.
        value.catch(() => {
          if (entry === current) entry = undefined;
        });
        return value;
      }
      return entry.value;
    },
  };
}
