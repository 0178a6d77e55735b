import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa } from 'execa';
import { Job, Queue, QueueEvents } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger, registerSecret } from '../../src/log.ts';
import type { PublishResult } from '../../src/model/publish-result.ts';
import { redisOptions } from '../../src/queue/connection.ts';
import { createFlowProducer, enqueueBuild } from '../../src/queue/enqueue.ts';
import { QueueName } from '../../src/queue/names.ts';
import { startWorkers, type PipelineWorkers } from '../../src/queue/workers.ts';
import { buildRequest } from '../helpers/requests.ts';
import { testRedisUrl, uniqueName } from '../helpers/stack.ts';

/*
 * Sandboxed processors (src/queue/sandbox.ts) with real child processes: a job whose child dies
 * (a native abort, the V8 heap limit) or is stuck past its time limit (killed) is retried, and
 * the worker process goes on; a permanent failure crosses the process boundary as one, masked.
 */

const fixtures = path.resolve(import.meta.dirname, '../fixtures');
const secret = `ghp_${'s3cr3t'.repeat(6)}`;
const jobTimeoutMs = 15_000;

describe('sandboxed processors', () => {
  const prefix = uniqueName('sandbox');
  const connection = redisOptions(testRedisUrl());
  let workers: PipelineWorkers;
  const build = new Queue(QueueName.build, { connection, prefix });
  const publish = new Queue(QueueName.publish, { connection, prefix });
  const events = new QueueEvents(QueueName.publish, { connection, prefix });
  const producer = createFlowProducer(connection, prefix);

  beforeAll(async () => {
    registerSecret(secret);
    workers = startWorkers({
      connection,
      prefix,
      concurrency: 2,
      log: createLogger({ level: 'silent' }),
      jobTimeoutMs,
      killGraceMs: 500,
      backoffMs: 10,
      processors: {
        kind: 'sandboxed',
        files: {
          build: path.join(fixtures, 'sandbox-build.ts'),
          publish: path.join(fixtures, 'sandbox-publish.ts'),
        },
        env: { GITHUB_TOKEN: secret },
        maxOldSpaceMb: 48,
      },
    });
    await events.waitUntilReady();
  });
  afterAll(async () => {
    await workers?.drain();
    await Promise.all([build.close(), publish.close(), events.close(), producer.close()]);
  });

  /** Enqueues one request named `how`; resolves with its build job (after the flow ended). */
  async function run(how: string) {
    const ids = await enqueueBuild(producer, buildRequest({ recipe: how }), {
      attempts: 3,
      backoffMs: 10,
    });
    const parent = await Job.fromId(publish, ids.publishJobId);
    const outcome: Promise<PublishResult | Error> = (
      parent?.waitUntilFinished(events, 120_000) as Promise<PublishResult>
    ).catch((error: unknown) => (error instanceof Error ? error : new Error(String(error))));
    const result = await outcome;
    const child = await Job.fromId(build, ids.buildJobIds[0] ?? '');
    const logs = (await build.getJobLogs(ids.buildJobIds[0] ?? '')).logs;
    return { result, child, logs };
  }

  /** The pids of the child processes the job's attempts ran in, from its log. */
  const childPids = (logs: string[]) =>
    logs.flatMap((l) => /^running in child process (\d+)/.exec(l)?.[1] ?? []).map(Number);

  it.each(['abort', 'oom'])(
    'a child that dies (%s) fails only its job, which is retried; the worker goes on',
    async (how) => {
      const { result, child, logs } = await run(how);
      expect(result).not.toBeInstanceOf(Error);
      expect(child?.attemptsMade).toBe(2);
      expect(child?.stacktrace?.join('\n')).toMatch(/child process died/);
      const pids = childPids(logs);
      expect(pids).toHaveLength(2);
      expect(new Set(pids).size).toBe(2);
      expect(pids).not.toContain(process.pid);
      // The second attempt's child answered, through IPC, to the publish job's child.
      const tags = (result as PublishResult).tags;
      expect(tags).toEqual([`amd64@${pids[1]}`]);
      for (const w of workers.workers) expect(w.isRunning()).toBe(true);
    },
    180_000,
  );

  it('kills a child stuck past the time limit, and the retry succeeds', async () => {
    const { result, child, logs } = await run('hang');
    expect(result).not.toBeInstanceOf(Error);
    expect(child?.attemptsMade).toBe(2);
    expect(child?.stacktrace?.join('\n')).toContain(`exceeded its ${jobTimeoutMs} ms limit`);
    const [stuck] = childPids(logs);
    expect(stuck).toBeDefined();
    expect(() => process.kill(stuck ?? 0, 0)).toThrow();
  }, 180_000);

  it('fails a permanent error at once, as UnrecoverableError, with the secret masked', async () => {
    const { result, child } = await run('permanent');
    expect(result).toBeInstanceOf(Error);
    expect(child?.attemptsMade).toBe(1);
    expect(child?.failedReason).toBe('bad input [REDACTED]');
    expect(JSON.stringify(child?.stacktrace)).not.toContain(secret);
  }, 180_000);

  it('a child whose worker was SIGKILLed stops by itself', async () => {
    const workerPrefix = uniqueName('sandbox-orphan');
    const worker = execa('node', ['--import', 'tsx', path.join(fixtures, 'sandbox-worker.ts')], {
      env: { TEST_REDIS_URL: testRedisUrl(), TEST_PREFIX: workerPrefix },
      reject: false,
    });
    const queue = new Queue(QueueName.build, { connection, prefix: workerPrefix });
    const flows = createFlowProducer(connection, workerPrefix);
    try {
      const ids = await enqueueBuild(flows, buildRequest({ recipe: 'sleep' }));
      const id = ids.buildJobIds[0] ?? '';
      let pid: number | undefined;
      for (let i = 0; i < 1200 && pid === undefined; i++) {
        pid = childPids((await queue.getJobLogs(id)).logs)[0];
        if (pid === undefined) await sleep(100);
      }
      expect(pid).toBeDefined();
      worker.kill('SIGKILL');
      await worker;
      let alive = true;
      for (let i = 0; i < 300 && alive; i++) {
        try {
          process.kill(pid ?? 0, 0);
          await sleep(100);
        } catch {
          alive = false;
        }
      }
      expect(alive).toBe(false);
    } finally {
      await Promise.all([queue.close(), flows.close()]);
    }
  }, 180_000);
});
