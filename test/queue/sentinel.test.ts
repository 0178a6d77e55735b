import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createRedis, type RedisClient } from '../../src/queue/connection.ts';
import { enqueueBuilds } from '../../src/queue/enqueue.ts';
import {
  startSentinelGroup,
  type LocalSentinelGroup,
} from '../../src/local-services/redis-sentinel.ts';
import { uniqueName } from '../helpers/stack.ts';
import {
  buildAndPublish,
  cycleRequests,
  expectedRecords,
  QueueHarness,
  recordingProcessors,
} from './harness.ts';

// One real Sentinel group for the whole file (master, replica, three redis-sentinel processes).
let group: LocalSentinelGroup;
let dir: string;
let redis: RedisClient;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'kiln-sentinel-'));
  group = await startSentinelGroup({ dataDir: dir });
  redis = createRedis(group.url);
  // While the master is down this client cannot connect; the failover test expects that.
  redis.on('error', () => {});
}, 90_000);
afterAll(async () => {
  redis?.disconnect();
  await group?.stop();
  await rm(dir, { recursive: true, force: true });
});

const h = new QueueHarness(() => group.url);
afterEach(() => h.cleanup());

describe('kiln on a Redis Sentinel group', () => {
  it('reaches the master the Sentinels name', async () => {
    expect(await group.currentMaster()).toBe(`127.0.0.1:${group.master.port}`);
    const info = await redis.info('server');
    expect(info).toContain(`tcp_port:${group.master.port}`);
  });

  it('runs the build → publish flow', async () => {
    const { seen, result } = await buildAndPublish(h, uniqueName('q'), ['amd64', 'arm64']);
    expect(result.tags).toEqual(['amd64', 'arm64']);
    expect(seen.slice(0, 2).sort()).toEqual(['build amd64', 'build arm64']);
    expect(seen[2]).toBe('publish amd64,arm64');
  });

  // Last in the file: afterwards the replica is the master and the old master is gone.
  it('goes on after the master is killed mid-cycle: every job completes exactly once', async () => {
    const prefix = uniqueName('q');
    const count = 8;
    const { record, processors } = recordingProcessors(150);
    const q = h.queues(prefix);
    h.workers(prefix, processors, 2);
    await enqueueBuilds(h.producer(prefix), cycleRequests(count));
    await expect.poll(() => record.builds.length, { timeout: 20_000 }).toBeGreaterThanOrEqual(3);

    const before = await group.currentMaster();
    process.kill(group.master.pid ?? 0, 'SIGKILL');
    const doneAtKill = record.publishes.length;
    await expect
      .poll(() => group.currentMaster(), { timeout: 30_000 })
      .toBe(`127.0.0.1:${group.replica.port}`);
    expect(before).toBe(`127.0.0.1:${group.master.port}`);

    await expect.poll(() => record.publishes.length, { timeout: 45_000 }).toBe(count);
    expect(doneAtKill).toBeLessThan(count);
    const expected = expectedRecords(count);
    expect(record.buildStarts.sort()).toEqual(expected.builds);
    expect(record.builds.sort()).toEqual(expected.builds);
    expect(record.publishes.sort()).toEqual(expected.publishes);
    await expect
      .poll(() => q.publish.getJobCounts('completed', 'failed', 'active', 'waiting'), {
        timeout: 10_000,
      })
      .toMatchObject({ completed: count, failed: 0, active: 0, waiting: 0 });
    expect(await q.build.getJobCounts('completed', 'failed')).toEqual({
      completed: 2 * count,
      failed: 0,
    });
  });
});
