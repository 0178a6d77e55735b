import { createHash } from 'node:crypto';
import type { RedisClient } from '../queue/connection.ts';
import { z } from 'zod';
import type { CachedEntry, ValidatorCache } from './types.ts';
import { redisKeys } from '../queue/keys.ts';

const releaseSchema = z.object({
  version: z.string(),
  tag: z.string(),
  publishedAt: z.string().optional(),
  prerelease: z.boolean(),
  url: z.string().optional(),
  checksums: z.record(z.string(), z.string()).optional(),
});

const entrySchema = z.object({
  etag: z.string().optional(),
  lastModified: z.string().optional(),
  releases: z.array(releaseSchema),
  extra: z.record(z.string(), z.string()).optional(),
});

/** Cached releases are capped: the newest are what a planner needs, and Redis stays small. */
const maxCachedReleases = 200;

/**
 * Validators (ETag / Last-Modified) and the releases they vouch for, in Redis with a TTL, so a
 * restarted watcher sends conditional requests instead of downloading everything again.
 */
export function redisValidatorCache(
  redis: RedisClient,
  prefix: string,
  ttlSeconds = 7 * 86_400,
): ValidatorCache {
  const keyOf = (key: string) =>
    redisKeys(prefix).upstreamValidator(
      createHash('sha256').update(key).digest('hex').slice(0, 32),
    );
  return {
    async get(key) {
      const raw = await redis.get(keyOf(key));
      if (!raw) return undefined;
      try {
        const parsed = entrySchema.safeParse(JSON.parse(raw));
        return parsed.success ? parsed.data : undefined;
      } catch {
        return undefined;
      }
    },
    async set(key, entry) {
      const trimmed: CachedEntry = {
        ...entry,
        releases: entry.releases.slice(0, maxCachedReleases),
      };
      await redis.set(keyOf(key), JSON.stringify(trimmed), 'EX', ttlSeconds);
    },
  };
}

/** An in-process cache, for `kiln plan` without Redis and for tests of a single source. */
export function memoryValidatorCache(): ValidatorCache {
  const map = new Map<string, CachedEntry>();
  return {
    get: async (key) => map.get(key),
    set: async (key, entry) => {
      map.set(key, entry);
    },
  };
}
