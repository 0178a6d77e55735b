import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { startRedis } from '../src/local-services/redis.ts';
import { startRegistry } from '../src/local-services/registry.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    redisUrl: string;
    registryHost: string;
    stackDir: string;
    /** This run's own package and index cache: no result depends on an earlier run. */
    cacheDir: string;
    /**
     * The catalog images' package cache, kept across runs (KILN_TEST_CATALOG_CACHE, default
     * ~/.cache/kiln/test-catalog): downloaded .debs and indexes are content-addressed and hashed on
     * every read, so a warm copy only saves downloads, as the issue asks of real-archive tests.
     */
    catalogCacheDir: string;
  }
}

/** One real Redis and one real registry for the whole run, started by the project's own scripts. */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'kiln-test-'));
  const [redis, registry] = await Promise.all([
    startRedis({ dataDir: path.join(dir, 'redis') }),
    startRegistry({ dataDir: path.join(dir, 'registry') }),
  ]);
  project.provide('redisUrl', redis.url);
  project.provide('registryHost', registry.host);
  project.provide('stackDir', dir);
  project.provide('cacheDir', path.join(dir, 'cache'));
  project.provide(
    'catalogCacheDir',
    process.env.KILN_TEST_CATALOG_CACHE ??
      path.join(os.homedir(), '.cache', 'kiln', 'test-catalog'),
  );
  return async () => {
    await Promise.all([redis.stop(), registry.stop()]);
    await rm(dir, { recursive: true, force: true });
  };
}
