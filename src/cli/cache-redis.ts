import type { Config } from '../config.ts';
import { describeError } from '../errors.ts';
import type { Logger } from '../log.ts';
import { createRedis } from '../queue/connection.ts';
import { readEndpoints } from '../run/local-defaults.ts';

export interface CacheRedis {
  redis: ReturnType<typeof createRedis> | undefined;
  /** Where validators come from, for the command's report. */
  note: string;
  close(): Promise<void>;
}

/**
 * kiln's Redis for a one-shot command's upstream validators (the watcher's cache, so an unchanged
 * repository costs a free 304): KILN_REDIS_URL, else the one a running `kiln up` started. Redis is
 * only a cache here: when it does not answer, the command goes on with an in-memory one.
 */
export async function openCacheRedis(config: Config, log: Logger): Promise<CacheRedis> {
  const url = config.redisUrl ?? (await readEndpoints(config.stateDir))?.redisUrl;
  const none = async () => {};
  if (!url) return { redis: undefined, note: 'in memory (no KILN_REDIS_URL)', close: none };
  const redis = createRedis(url, {
    lazyConnect: true,
    connectTimeout: 5_000,
    maxRetriesPerRequest: 1,
    retryStrategy: () => null,
  });
  try {
    await redis.connect();
  } catch (error) {
    redis.disconnect();
    log.warn(
      { err: describeError(error) },
      'Redis did not answer; upstream validators are kept in memory for this run',
    );
    return {
      redis: undefined,
      note: `in memory (Redis did not answer: ${describeError(error)})`,
      close: none,
    };
  }
  return {
    redis,
    note: 'Redis (the watcher’s validator cache)',
    async close() {
      await redis.quit().catch(() => redis.disconnect());
    },
  };
}
