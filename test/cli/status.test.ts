import { Job, QueueEvents } from 'bullmq';
import { execa } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import { recordPublished } from '../../src/catalog/store.ts';
import { PermanentError } from '../../src/errors.ts';
import { createLogger } from '../../src/log.ts';
import { createRedis, redisOptions } from '../../src/queue/connection.ts';
import { createFlowProducer, enqueueBuild } from '../../src/queue/enqueue.ts';
import { QueueName } from '../../src/queue/names.ts';
import { startWorkers } from '../../src/queue/workers.ts';
import { sampleRecord } from '../catalog/fixtures.ts';
import { buildRequest } from '../helpers/requests.ts';
import { testRedisUrl, uniqueName } from '../helpers/stack.ts';

describe('kiln status', () => {
  const redis = createRedis(testRedisUrl());
  afterAll(() => redis.disconnect());

  it('shows queue depths, failed jobs with their reasons, and each image’s last published version', async () => {
    const prefix = uniqueName('status');
    const workers = startWorkers({
      connection: redisOptions(testRedisUrl()),
      prefix,
      concurrency: 1,
      log: createLogger({ level: 'silent' }),
      jobTimeoutMs: 10_000,
      processors: {
        build: async () => {
          throw new PermanentError('sha256 mismatch for libssl3_3.0.15-1_amd64.deb');
        },
        publish: async () => {
          throw new Error('unreachable');
        },
      },
    });
    const flows = createFlowProducer(redisOptions(testRedisUrl()), prefix);
    const events = new QueueEvents(QueueName.build, {
      connection: redisOptions(testRedisUrl()),
      prefix,
    });
    try {
      const ids = await enqueueBuild(flows, buildRequest({ recipe: 'openssl-app' }));
      const { Queue } = await import('bullmq');
      const build = new Queue(QueueName.build, {
        connection: redisOptions(testRedisUrl()),
        prefix,
      });
      const job = await Job.fromId(build, ids.buildJobIds[0] ?? '');
      await job?.waitUntilFinished(events).catch(() => undefined);
      await build.close();
      await recordPublished(
        redis,
        prefix,
        sampleRecord({
          recipe: 'python',
          version: '3.13.5',
          epoch: 2,
          tags: ['3.13.5-r2', 'latest'],
        }),
      );

      const env = { ...process.env, KILN_REDIS_URL: testRedisUrl(), KILN_QUEUE_PREFIX: prefix };
      const json = await execa('node', ['bin/kiln.js', 'status', '--json'], { env });
      const status = JSON.parse(json.stdout) as {
        queues: { name: string; counts: Record<string, number> }[];
        failed: { name: string; failedReason: string }[];
        images: { name: string; version: string; epoch: number }[];
      };
      expect(status.queues.find((q) => q.name === 'build')?.counts.failed).toBe(1);
      expect(status.failed.map((f) => f.failedReason).join()).toContain(
        'sha256 mismatch for libssl3_3.0.15-1_amd64.deb',
      );
      expect(status.images).toEqual([
        expect.objectContaining({ name: 'python', version: '3.13.5', epoch: 2 }),
      ]);

      const text = await execa('node', ['bin/kiln.js', 'status'], { env });
      expect(text.stdout).toMatch(/FAILED \(1\)/);
      expect(text.stdout).toContain('sha256 mismatch for libssl3_3.0.15-1_amd64.deb');
      expect(text.stdout).toMatch(/python\s+3\.13\.5-r2/);
    } finally {
      await events.close();
      await flows.close();
      await workers.drain();
    }
  });

  it('says which variable to set when there is no Redis to ask', async () => {
    const run = await execa('node', ['bin/kiln.js', 'status'], {
      env: { ...process.env, KILN_REDIS_URL: '', KILN_STATE_DIR: '/nonexistent-kiln-state' },
      reject: false,
    });
    expect(run.exitCode).toBe(2);
    expect(run.stderr).toContain('KILN_REDIS_URL');
  });
});
