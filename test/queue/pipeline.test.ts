import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { Job, QueueEvents } from 'bullmq';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { listJobs } from '../../src/api/jobs.ts';
import { PermanentError, TransientError } from '../../src/errors.ts';
import { createRedis, redisOptions, type RedisClient } from '../../src/queue/connection.ts';
import { enqueueBuild, enqueueBuilds } from '../../src/queue/enqueue.ts';
import { QueueName } from '../../src/queue/names.ts';
import type { BuildResult } from '../../src/model/build-result.ts';
import { buildRequest, noopBuildResult } from '../helpers/requests.ts';
import { testRedisUrl, testRegistryHost, uniqueName } from '../helpers/stack.ts';
import { buildAndPublish, fakePublish, QueueHarness } from './harness.ts';

let redis: RedisClient;
beforeAll(() => {
  redis = createRedis(testRedisUrl());
});
afterAll(() => redis.disconnect());

const h = new QueueHarness(testRedisUrl);
afterEach(() => h.cleanup());

function fakeBuild(arch: string): BuildResult {
  return noopBuildResult(arch);
}

describe('the build → publish flow on BullMQ', () => {
  it('makes one build job per arch and one publish job after all of them', async () => {
    const { seen, result } = await buildAndPublish(h, uniqueName('q'), ['amd64', 'arm64']);
    expect(result.tags).toEqual(['amd64', 'arm64']);
    expect(seen.slice(0, 2).sort()).toEqual(['build amd64', 'build arm64']);
    expect(seen[2]).toBe('publish amd64,arm64');
  });

  it('keeps one set of jobs when the same request is enqueued twice, also from two producers at once', async () => {
    const prefix = uniqueName('q');
    const q = h.queues(prefix);
    const request = buildRequest({ archs: ['amd64', 'arm64'] });
    const a = h.producer(prefix);
    const b = h.producer(prefix);
    await enqueueBuild(a, request);
    await Promise.all(Array.from({ length: 10 }, (_, i) => enqueueBuild(i % 2 ? a : b, request)));
    expect(
      await q.build.getJobCountByTypes('waiting', 'active', 'prioritized', 'delayed', 'completed'),
    ).toBe(2);
    expect(
      await q.publish.getJobCountByTypes('waiting-children', 'waiting', 'prioritized', 'completed'),
    ).toBe(1);

    let builds = 0;
    h.workers(prefix, {
      build: async ({ arch }) => {
        builds++;
        return fakeBuild(arch);
      },
      publish: async (_d, bs) => fakePublish(bs.map((x) => x.arch)),
    });
    const job = await Job.fromId(q.publish, (await enqueueBuild(a, request)).publishJobId);
    await job!.waitUntilFinished(q.events, 20_000);
    expect(builds).toBe(2);
  });

  it('enqueues a planning cycle in bulk, still one set of jobs per request', async () => {
    const prefix = uniqueName('q');
    const q = h.queues(prefix);
    const producer = h.producer(prefix);
    const a = buildRequest({ recipe: 'a', archs: ['amd64', 'arm64'] });
    const b = buildRequest({ recipe: 'b' });
    const ids = await enqueueBuilds(producer, [a, b, a], { batchSize: 2 });
    await enqueueBuilds(producer, [b, a]);
    expect(ids[0]).toEqual(ids[2]);
    expect(await q.build.getJobCountByTypes('waiting', 'prioritized')).toBe(3);
    expect(await q.publish.getJobCountByTypes('waiting-children')).toBe(2);
  });

  it('reports a running job’s stage, which the job listing shows, and its log lines', async () => {
    const prefix = uniqueName('q');
    const q = h.queues(prefix);
    let release: () => void = () => {};
    const gate = new Promise<void>((r) => (release = r));
    h.workers(prefix, {
      build: async ({ arch }, ctx) => {
        await ctx.progress({ stage: 'push', percent: 90 });
        ctx.appendLog('STEP 2/3: RUN make');
        await gate;
        return fakeBuild(arch);
      },
      publish: async (_d, bs) => fakePublish(bs.map((x) => x.arch)),
    });
    const producer = h.producer(prefix);
    await enqueueBuild(producer, buildRequest());
    await expect
      .poll(async () => (await listJobs([q.build], { states: ['active'] })).jobs[0]?.progress, {
        timeout: 10_000,
      })
      .toEqual({ stage: 'push', percent: 90 });
    const [active] = (await listJobs([q.build], { states: ['active'] })).jobs;
    await expect
      .poll(async () => (await q.build.getJobLogs(active?.id ?? '')).logs)
      .toEqual(['STEP 2/3: RUN make']);
    release();
  });

  it('retries a transient failure with backoff and then succeeds', async () => {
    const prefix = uniqueName('q');
    const q = h.queues(prefix);
    let attempts = 0;
    h.workers(prefix, {
      build: async ({ arch }, ctx) => {
        attempts = ctx.attempt;
        if (ctx.attempt < 3)
          throw new TransientError('registry answered 503', { retryAfterMs: 100 });
        return fakeBuild(arch);
      },
      publish: async (_d, bs) => fakePublish(bs.map((x) => x.arch)),
    });
    const producer = h.producer(prefix);
    const ids = await enqueueBuild(producer, buildRequest(), { backoffMs: 50 });
    const job = await Job.fromId(q.publish, ids.publishJobId);
    await job!.waitUntilFinished(q.events, 20_000);
    expect(attempts).toBe(3);
    const build = await Job.fromId(q.build, ids.buildJobIds[0]!);
    expect(build!.attemptsMade).toBe(3);
  });

  it('fails a permanent error at once with its message, without retrying', async () => {
    const prefix = uniqueName('q');
    const q = h.queues(prefix);
    let runs = 0;
    h.workers(prefix, {
      build: async () => {
        runs++;
        throw new PermanentError('checksum mismatch for libc6_2.36-9_amd64.deb');
      },
      publish: async (_d, bs) => fakePublish(bs.map((x) => x.arch)),
    });
    const producer = h.producer(prefix);
    const buildEvents = new QueueEvents(QueueName.build, {
      connection: redisOptions(testRedisUrl()),
      prefix,
    });
    h.onCleanup(() => buildEvents.close());
    const ids = await enqueueBuild(producer, buildRequest(), { attempts: 5 });
    const build = await Job.fromId(q.build, ids.buildJobIds[0]!);
    await expect(build!.waitUntilFinished(buildEvents, 20_000)).rejects.toThrow(
      'checksum mismatch for libc6',
    );
    const failed = await Job.fromId(q.build, ids.buildJobIds[0]!);
    expect(failed!.failedReason).toContain('checksum mismatch for libc6_2.36-9_amd64.deb');
    expect(failed!.attemptsMade).toBe(1);
    expect(runs).toBe(1);
  });

  it('runs a security rebuild before a routine one', async () => {
    const prefix = uniqueName('q');
    const q = h.queues(prefix);
    const producer = h.producer(prefix);
    await enqueueBuild(producer, buildRequest({ recipe: 'routine', priority: 'routine' }));
    await enqueueBuild(producer, buildRequest({ recipe: 'urgent', priority: 'security' }));
    const order: string[] = [];
    h.workers(
      prefix,
      {
        build: async ({ request, arch }) => {
          order.push(request.recipe);
          return fakeBuild(arch);
        },
        publish: async (_d, bs) => fakePublish(bs.map((x) => x.arch)),
      },
      1,
    );
    await expect.poll(() => order.length, { timeout: 20_000 }).toBe(2);
    expect(order).toEqual(['urgent', 'routine']);
    void q;
  });
});

describe('worker processes', () => {
  const fixture = path.resolve('test/fixtures/queue-worker.ts');

  function startWorkerProcess(prefix: string, buildMs: number): ChildProcess {
    const child = spawn(process.execPath, ['--import', 'tsx', fixture], {
      env: {
        ...process.env,
        TEST_REDIS_URL: testRedisUrl(),
        TEST_PREFIX: prefix,
        TEST_BUILD_MS: String(buildMs),
        TEST_REGISTRY: testRegistryHost(),
      },
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    h.onCleanup(async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    });
    return child;
  }

  const exited = (child: ChildProcess) =>
    new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      child.once('exit', (code, signal) => resolve({ code, signal })),
    );

  it('completes a job whose worker was killed with SIGKILL mid-build, and pushes the image once', async () => {
    const prefix = uniqueName('q');
    const q = h.queues(prefix);
    const repository = uniqueName('kill');
    const producer = h.producer(prefix);
    const first = startWorkerProcess(prefix, 60_000);
    const request = buildRequest({ repository, tags: ['1.2.3-r0'] });
    const ids = await enqueueBuild(producer, request);
    await expect
      .poll(() => redis.get(`${prefix}:count:build-started`), { timeout: 20_000 })
      .toBe('1');
    const gone = exited(first);
    first.kill('SIGKILL');
    await gone;

    startWorkerProcess(prefix, 200);
    const job = await Job.fromId(q.publish, ids.publishJobId);
    await job!.waitUntilFinished(q.events, 45_000);
    expect(await redis.get(`${prefix}:count:build-started`)).toBe('2');
    expect(await redis.get(`${prefix}:count:build-finished`)).toBe('1');
    expect(await redis.get(`${prefix}:count:publish`)).toBe('1');
    const tags = await fetch(`http://${testRegistryHost()}/v2/${repository}/tags/list`).then((r) =>
      r.json(),
    );
    expect(tags).toEqual({ name: repository, tags: ['1.2.3-r0'] });
  });

  it('on SIGTERM lets the running job finish, then exits 0', async () => {
    const prefix = uniqueName('q');
    const q = h.queues(prefix);
    const producer = h.producer(prefix);
    const child = startWorkerProcess(prefix, 1_500);
    const ids = await enqueueBuild(producer, buildRequest({ repository: uniqueName('term') }));
    await expect
      .poll(() => redis.get(`${prefix}:count:build-started`), { timeout: 20_000 })
      .toBe('1');
    const gone = exited(child);
    child.kill('SIGTERM');
    expect(await gone).toEqual({ code: 0, signal: null });
    expect(await redis.get(`${prefix}:count:build-finished`)).toBe('1');
    const build = await Job.fromId(q.build, ids.buildJobIds[0]!);
    expect(await build!.getState()).toBe('completed');
  });
});
