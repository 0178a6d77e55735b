import { Redis, type RedisOptions } from 'ioredis';

/**
 * A Redis connection as BullMQ needs it: commands wait for a reconnect rather than failing
 * (`maxRetriesPerRequest: null`), so a Redis restart delays jobs instead of losing them.
 */
export function createRedis(url: string, options: RedisOptions = {}): Redis {
  return new Redis(url, { maxRetriesPerRequest: null, enableReadyCheck: true, ...options });
}
