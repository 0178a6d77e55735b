import { Redis, type RedisOptions } from 'ioredis';

/**
 * Connection options as BullMQ needs them: commands wait for a reconnect rather than failing
 * (`maxRetriesPerRequest: null`), so a Redis restart delays jobs instead of losing them.
 * Passing options (not a client) lets each BullMQ object own, and close, its connections.
 */
export function redisOptions(url: string): RedisOptions {
  const u = new URL(url);
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') {
    throw new Error(`KILN_REDIS_URL: expected redis:// or rediss://, got ${u.protocol}`);
  }
  const db = u.pathname.replace(/^\//, '');
  return {
    host: u.hostname,
    port: u.port ? Number(u.port) : 6379,
    username: u.username ? decodeURIComponent(u.username) : undefined,
    password: u.password ? decodeURIComponent(u.password) : undefined,
    db: db ? Number(db) : 0,
    tls: u.protocol === 'rediss:' ? {} : undefined,
    maxRetriesPerRequest: null,
    enableReadyCheck: true,
  };
}

/** A client of kiln's own (caches, catalog, counters); the caller closes it. */
export function createRedis(url: string, options: RedisOptions = {}): Redis {
  return new Redis({ ...redisOptions(url), ...options });
}
