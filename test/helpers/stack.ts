import { randomBytes } from 'node:crypto';
import { inject } from 'vitest';
import { createRedis, type RedisClient } from '../../src/queue/connection.ts';

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

/**
 * The package cache of the tests that build the shipped catalog from the real archive, kept
 * across runs (content-addressed and verified on read): a warm cache, not a shared result.
 */
export function testCatalogCacheDir(): string {
  return inject('catalogCacheDir');
}

/** A prefix no other test uses: BullMQ keys, repository names. */
export function uniqueName(base: string): string {
  return `${base}-${randomBytes(4).toString('hex')}`;
}

/** A Redis connection to the test instance, made as kiln makes its own. */
export function testRedis(): RedisClient {
  return createRedis(testRedisUrl());
}
