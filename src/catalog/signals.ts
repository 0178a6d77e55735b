import type { RedisClient } from '../queue/connection.ts';
import { redisKeys } from '../queue/keys.ts';
import { z } from 'zod';
import { TransientError } from '../errors.ts';

/*
 * Operational signals the watcher writes and /metrics reads: how many upstream checks ran (by
 * source and outcome) and how many rate-limit points each source has left. They live in Redis,
 * not in one process's memory, so `kiln serve` reports what `kiln watch` on another machine did.
 *
 * Keys, for prefix P:
 *   P:signals:checks       hash: `<source>\t<outcome>` → count (monotonic)
 *   P:signals:rate-limit   hash: source → RateLimitState JSON
 */

const checksKey = (prefix: string) => redisKeys(prefix).signals.checks;
const rateLimitKey = (prefix: string) => redisKeys(prefix).signals.rateLimit;

/** How an upstream check ended. */
export type CheckOutcome = 'ok' | 'error' | 'rate-limited' | 'not-modified';

/** Counts one upstream check, e.g. `recordUpstreamCheck(redis, prefix, 'github', 'ok')`. */
export async function recordUpstreamCheck(
  redis: RedisClient,
  prefix: string,
  source: string,
  outcome: CheckOutcome,
): Promise<void> {
  try {
    await redis.hincrby(checksKey(prefix), `${source}\t${outcome}`, 1);
  } catch (cause) {
    throw new TransientError(`counting an upstream check of ${source}`, { cause });
  }
}

export const rateLimitStateSchema = z.object({
  /** Points (requests) left in the current window. */
  remaining: z.number().nonnegative(),
  /** Points per window, if the source says. */
  limit: z.number().nonnegative().optional(),
  /** When the window resets (ISO 8601), if the source says. */
  resetAt: z.string().optional(),
  /** When this was observed. */
  observedAt: z.string(),
});
export type RateLimitState = z.infer<typeof rateLimitStateSchema>;

/** Records what a source last said about its rate limit (e.g. GitHub's `x-ratelimit-remaining`). */
export async function recordRateLimit(
  redis: RedisClient,
  prefix: string,
  source: string,
  state: Omit<RateLimitState, 'observedAt'> & { observedAt?: string },
): Promise<void> {
  const value = rateLimitStateSchema.parse({ observedAt: new Date().toISOString(), ...state });
  try {
    await redis.hset(rateLimitKey(prefix), source, JSON.stringify(value));
  } catch (cause) {
    throw new TransientError(`recording the rate limit of ${source}`, { cause });
  }
}

export interface UpstreamSignals {
  checks: { source: string; outcome: string; count: number }[];
  rateLimits: ({ source: string } & RateLimitState)[];
}

/** Everything recorded above, for /metrics and `kiln status`. */
export async function readSignals(redis: RedisClient, prefix: string): Promise<UpstreamSignals> {
  const [checks, limits] = await Promise.all([
    redis.hgetall(checksKey(prefix)),
    redis.hgetall(rateLimitKey(prefix)),
  ]);
  return {
    checks: Object.entries(checks).map(([field, count]) => {
      const [source = field, outcome = 'unknown'] = field.split('\t');
      return { source, outcome, count: Number(count) };
    }),
    rateLimits: Object.entries(limits).flatMap(([source, json]) => {
      const parsed = rateLimitStateSchema.safeParse(safeJson(json));
      return parsed.success ? [{ source, ...parsed.data }] : [];
    }),
  };
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
