import type { RedisClient } from '../queue/connection.ts';
import type { UpstreamRelease } from '../versioning/release.ts';
import { redisKeys } from '../queue/keys.ts';
import type { FirstSeenPort } from './ports.ts';

/**
 * Releases whose upstream states no publication time (a Debian package in a suite) get the time
 * kiln first saw them, kept in Redis so a restart does not reset it. Freshness and the cooldown
 * then count from when the release became visible, not from never. Such a time is marked
 * `publishedAtSource: 'first-seen'`, so the catalog can say the release time is unknown.
 */
export async function withFirstSeen(
  redis: RedisClient,
  prefix: string,
  recipe: string,
  releases: readonly UpstreamRelease[],
  now: Date = new Date(),
): Promise<UpstreamRelease[]> {
  const unstamped = releases.filter((r) => !r.publishedAt);
  if (unstamped.length === 0) return [...releases];
  const key = redisKeys(prefix).firstSeen(recipe);
  const multi = redis.multi();
  for (const r of unstamped) multi.hsetnx(key, r.version, now.toISOString());
  multi.hmget(key, ...unstamped.map((r) => r.version));
  const results = await multi.exec();
  const last = results?.[results.length - 1]?.[1];
  const times = Array.isArray(last) ? last : [];
  const seen = new Map(
    unstamped.map((r, i) => [
      r.version,
      typeof times[i] === 'string' ? times[i] : now.toISOString(),
    ]),
  );
  return releases.map((r) =>
    r.publishedAt
      ? r
      : { ...r, publishedAt: seen.get(r.version), publishedAtSource: 'first-seen' as const },
  );
}

/** The first-seen port over Redis: stamps kept under `P:first-seen:<recipe>` (src/queue/keys.ts). */
export function redisFirstSeen(redis: RedisClient, prefix: string): FirstSeenPort {
  return { stamp: (recipe, releases) => withFirstSeen(redis, prefix, recipe, releases) };
}
