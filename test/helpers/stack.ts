import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { inject } from 'vitest';

/** The Redis URL the global setup started. */
export function testRedisUrl(): string {
  return inject('redisUrl');
}

/** `127.0.0.1:<port>` of the registry the global setup started. */
export function testRegistryHost(): string {
  return inject('registryHost');
}

/** This run's own cache folder (KILN_CACHE_DIR): shared by the tests of one run, never across runs. */
export function testCacheDir(): string {
  return inject('cacheDir');
}

/** A prefix no other test uses: BullMQ keys, repository names. */
export function uniqueName(base: string): string {
  return `${base}-${randomBytes(4).toString('hex')}`;
}

/** A Redis connection to the test instance, for BullMQ (which needs maxRetriesPerRequest null). */
export function testRedis(): Redis {
  return new Redis(testRedisUrl(), { maxRetriesPerRequest: null });
}
