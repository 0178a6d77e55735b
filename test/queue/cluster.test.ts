import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Cluster } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  clearCatalog,
  getImage,
  recordPublished,
  recordUpstreamSeen,
  tagHistory,
} from '../../src/catalog/store.ts';
import { recordUpstreamCheck } from '../../src/catalog/signals.ts';
import { loadConfig } from '../../src/config.ts';
import { createRedis, type RedisClient } from '../../src/queue/connection.ts';
import { enqueueBuilds } from '../../src/queue/enqueue.ts';
import { withFirstSeen } from '../../src/plan/first-seen.ts';
import {
  startRedisCluster,
  type LocalRedisCluster,
} from '../../src/local-services/redis-cluster.ts';
import { redisValidatorCache } from '../../src/upstream/cache.ts';
import { sampleRecord } from '../catalog/fixtures.ts';
import { uniqueName } from '../helpers/stack.ts';
import {
  buildAndPublish,
  cycleRequests,
  expectedRecords,
  QueueHarness,
  recordingProcessors,
} from './harness.ts';

// One real three-master Redis Cluster for the whole file, from Debian's redis-server.
let cluster: LocalRedisCluster;
let dir: string;
let redis: RedisClient;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'kiln-cluster-'));
  cluster = await startRedisCluster({ dataDir: dir });
  redis = createRedis(cluster.url);
}, 90_000);
afterAll(async () => {
  await redis?.quit();
  await cluster?.stop();
  await rm(dir, { recursive: true, force: true });
});

const h = new QueueHarness(() => cluster.url);
afterEach(() => h.cleanup());

/** The prefix kiln itself would use on this cluster for KILN_QUEUE_PREFIX=`name`. */
function clusterPrefix(name = uniqueName('q')): string {
  return loadConfig({ KILN_REDIS_URL: cluster.url, KILN_QUEUE_PREFIX: name }).queuePrefix;
}

/** Every key on every master, with its slot: SCAN is per node. */
async function allKeys(): Promise<{ key: string; slot: number }[]> {
  if (!(redis instanceof Cluster)) throw new Error('expected a Cluster client');
  const out: { key: string; slot: number }[] = [];
  for (const node of redis.nodes('master')) {
    let cursor = '0';
    do {
      const [next, keys] = await node.scan(cursor, 'COUNT', 1000);
      for (const key of keys) out.push({ key, slot: Number(await node.cluster('KEYSLOT', key)) });
      cursor = next;
    } while (cursor !== '0');
  }
  return out;
}

describe('kiln on a Redis Cluster', () => {
  it('is a real cluster: three masters sharing the 16384 slots', async () => {
    expect(redis).toBeInstanceOf(Cluster);
    if (!(redis instanceof Cluster)) return;
    expect(redis.nodes('master')).toHaveLength(3);
    const slots = (await redis.cluster('SLOTS')) as [number, number][];
    expect(slots).toHaveLength(3);
  });

  it('runs the build → publish flow', async () => {
    const { seen, result } = await buildAndPublish(h, clusterPrefix(), ['amd64', 'arm64']);
    expect(result.tags).toEqual(['amd64', 'arm64']);
    expect(seen.slice(0, 2).sort()).toEqual(['build amd64', 'build arm64']);
    expect(seen[2]).toBe('publish amd64,arm64');
  });

  it('runs a planning cycle enqueued in bulk: every job exactly once', async () => {
    const prefix = clusterPrefix();
    const { record, processors } = recordingProcessors(20);
    const q = h.queues(prefix);
    h.workers(prefix, processors, 4);
    await enqueueBuilds(h.producer(prefix), cycleRequests(6), { batchSize: 4 });
    await expect.poll(() => record.publishes.length, { timeout: 30_000 }).toBe(6);
    const expected = expectedRecords(6);
    expect(record.builds.sort()).toEqual(expected.builds);
    expect(record.publishes.sort()).toEqual(expected.publishes);
    expect(await q.publish.getJobCounts('completed', 'failed')).toEqual({
      completed: 6,
      failed: 0,
    });
  });

  it('records and reads an image in the catalog without CROSSSLOT', async () => {
    const prefix = clusterPrefix();
    const record = sampleRecord({
      recipe: 'hello',
      version: '1.0.0',
      tags: ['1.0.0-r0', '1.0.0', 'latest'],
      upstream: { releasedAt: '2026-01-01T00:00:00.000Z' },
      publishedAt: '2026-01-01T01:00:00.000Z',
    });
    await recordPublished(redis, prefix, record);
    await recordUpstreamSeen(redis, prefix, 'hello', '1.1.0', '2026-01-02T00:00:00.000Z');
    const image = await getImage(redis, prefix, 'hello', {
      staleAfterMs: 3_600_000,
      now: Date.parse('2026-01-03T00:00:00Z'),
    });
    expect(image?.latest.digest).toBe(record.digest);
    expect(image?.staleness.stale).toBe(true);
    expect((await tagHistory(redis, prefix, 'hello')).map((t) => t.tag)).toEqual([
      'latest',
      '1.0.0',
      '1.0.0-r0',
    ]);
    await clearCatalog(redis, prefix);
    expect(await getImage(redis, prefix, 'hello', { staleAfterMs: 1 })).toBeUndefined();
  });

  it('keeps every key kiln writes under one prefix in that prefix’s slot', async () => {
    const name = uniqueName('slot');
    const prefix = clusterPrefix(name);
    expect(prefix).toBe(`{${name}}`);
    await buildAndPublish(h, prefix, ['amd64']);
    await recordPublished(redis, prefix, sampleRecord({ recipe: 'a' }));
    await recordPublished(redis, prefix, sampleRecord({ recipe: 'b' }));
    await recordUpstreamCheck(redis, prefix, 'github', 'ok');
    await withFirstSeen(redis, prefix, 'a', [
      { version: '1.0.0', tag: 'v1.0.0', prerelease: false },
      { version: '1.1.0', tag: 'v1.1.0', prerelease: false },
    ]);
    await redisValidatorCache(redis, prefix).set('https://example.invalid/releases', {
      releases: [],
    });
    const mine = (await allKeys()).filter((k) => k.key.includes(name));
    expect(mine.length).toBeGreaterThan(10);
    expect(mine.filter((k) => !k.key.startsWith(`${prefix}:`))).toEqual([]);
    expect(new Set(mine.map((k) => k.slot)).size).toBe(1);
  });
});
