import { Job, QueueEvents } from 'bullmq';
import { execa } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import { recordCveScan } from '../../src/catalog/cves.ts';
import { recordPublished } from '../../src/catalog/store.ts';
import { PermanentError } from '../../src/errors.ts';
import { createLogger } from '../../src/log.ts';
import { createRedis, redisOptions, type RedisClient } from '../../src/queue/connection.ts';
import { createFlowProducer, enqueueBuild } from '../../src/queue/enqueue.ts';
import { QueueName } from '../../src/queue/names.ts';
import { startWorkers } from '../../src/queue/workers.ts';
import { sampleRecord } from '../catalog/fixtures.ts';
import { buildRequest } from '../helpers/requests.ts';
import { testRedisUrl, uniqueName } from '../helpers/stack.ts';

const HOUR = 3_600_000;
const at = (h: number) => new Date(Date.parse('2026-11-30T00:00:00Z') + h * HOUR).toISOString();

/**
 * python 3.13.5-r1 is scanned with a fixable high CVE (the fix is in trixie-security from hour
 * 1); r2, tagged at hour 3, no longer has it: one time-to-fix sample of 2 h. r2 still carries one
 * other fixable high and two unfixed lows.
 */
async function publishWithCveFix(redis: RedisClient, prefix: string): Promise<void> {
  const record = (epoch: number, h: number) =>
    sampleRecord({
      recipe: 'python',
      version: '3.13.5',
      epoch,
      tags: [`3.13.5-r${epoch}`, 'latest'],
      publishedAt: at(h),
    });
  const fix = (cve: string) => ({
    cve,
    source: 'openssl',
    installed: '3.5.4-1',
    fixedVersion: '3.5.4-1~deb13u1',
    suite: 'trixie-security',
    urgency: 'high',
  });
  const scan = async (r: ReturnType<typeof record>, cve: string, h: number) =>
    recordCveScan(
      redis,
      prefix,
      'python',
      [
        {
          summary: {
            recipe: 'python',
            stream: 'default',
            version: r.version,
            epoch: r.epoch,
            digest: r.digest,
            release: 'trixie',
            scannedAt: at(h),
            feed: 'test feed',
            total: 3,
            fixable: 1,
            byUrgency: { high: 1, low: 2 },
            fixableCves: [fix(cve)],
          },
          publishedAt: r.publishedAt,
        },
      ],
      new Date(at(h)),
    );
  const r1 = record(1, 0);
  const r2 = record(2, 3);
  await recordPublished(redis, prefix, r1);
  await scan(r1, 'CVE-2026-1111', 1);
  await recordPublished(redis, prefix, r2);
  expect(await scan(r2, 'CVE-2026-2222', 4)).toHaveLength(1);
}

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
      await publishWithCveFix(redis, prefix);

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
        expect.objectContaining({
          name: 'python',
          version: '3.13.5',
          epoch: 2,
          cves: { total: 3, fixable: 1, byUrgency: { high: 1, low: 2 } },
          timeToFix: { fixes: 1, medianMs: 2 * HOUR, p95Ms: 2 * HOUR },
        }),
      ]);

      const text = await execa('node', ['bin/kiln.js', 'status'], { env });
      expect(text.stdout).toMatch(/FAILED \(1\)/);
      expect(text.stdout).toContain('sha256 mismatch for libssl3_3.0.15-1_amd64.deb');
      expect(text.stdout).toMatch(/python\s+3\.13\.5-r2/);
      // The CVEs of the latest release by urgency, how many are fixable, and the time to fix.
      expect(text.stdout).toMatch(/CVES\s+FIXABLE\s+TIME TO FIX \(MEDIAN \/ P95\)/);
      expect(text.stdout).toMatch(/python\s+3\.13\.5-r2.*3 \(1 high, 2 low\)\s+1\s+2 h \/ 2 h/);
      expect(text.stdout).toContain(
        'time to fix: median 2 h, p95 2 h over 1 fixes; 1 fixable CVEs open',
      );
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
