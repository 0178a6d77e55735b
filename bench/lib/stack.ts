import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { startRedis } from '../../src/local-services/redis.ts';
import { startRegistry } from '../../src/local-services/registry.ts';

/** Starts a private Redis (and optionally a registry) for one benchmark run; stop() removes them. */
export async function benchStack(options: { registry?: boolean } = {}) {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'kiln-bench-'));
  const redis = await startRedis({ dataDir: path.join(dir, 'redis') });
  const registry = options.registry
    ? await startRegistry({ dataDir: path.join(dir, 'registry') })
    : undefined;
  return {
    dir,
    redis,
    registry,
    async stop() {
      await Promise.all([redis.stop(), registry?.stop()]);
      await rm(dir, { recursive: true, force: true });
    },
  };
}
