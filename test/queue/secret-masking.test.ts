import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { Job, Queue } from 'bullmq';
import type { RedisClient as Redis } from '../../src/queue/connection.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configSecrets, loadConfig } from '../../src/config.ts';
import { PermanentError, TransientError } from '../../src/errors.ts';
import { createLogger, registerSecrets } from '../../src/log.ts';
import { createRedis, redisOptions } from '../../src/queue/connection.ts';
import { createFlowProducer, enqueueBuild } from '../../src/queue/enqueue.ts';
import { QueueName } from '../../src/queue/names.ts';
import { startWorkers } from '../../src/queue/workers.ts';
import { buildRequest, noopBuildResult, noopPublishResult } from '../helpers/requests.ts';
import { testRedisUrl, uniqueName } from '../helpers/stack.ts';

const hex = () => randomBytes(12).toString('hex');

/** One of each secret kiln is configured with, every one unique to this run. */
function secretEnvironment() {
  const pem = generateKeyPairSync('ec', { namedCurve: 'P-256' })
    .privateKey.export({ type: 'pkcs8', format: 'pem' })
    .toString();
  const redisPassword = `p@ss/${hex()}`;
  const env: NodeJS.ProcessEnv = {
    KILN_SIGNING_KEY: pem,
    KILN_SIGNING_KEY_PASSWORD: `keypw-${hex()}`,
    KILN_REGISTRY_USERNAME: 'kiln',
    KILN_REGISTRY_PASSWORD: `regpw-${hex()}`,
    GITHUB_TOKEN: `ghp_${hex()}`,
    KILN_API_TOKEN: `api-${hex()}`,
    KILN_GITHUB_WEBHOOK_SECRET: `hook-${hex()}`,
    KILN_SECRET_NPM_TOKEN: `npm-${hex()}`,
    KILN_REDIS_URL: `redis://kiln:${encodeURIComponent(redisPassword)}@127.0.0.1:6399/0`,
  };
  const pemLines = pem.split('\n').filter((l) => l !== '' && !l.startsWith('-----'));
  // What must never be found: every value, the Redis password in both forms, each PEM line.
  const forbidden = [
    env.KILN_SIGNING_KEY_PASSWORD,
    env.KILN_REGISTRY_PASSWORD,
    env.GITHUB_TOKEN,
    env.KILN_API_TOKEN,
    env.KILN_GITHUB_WEBHOOK_SECRET,
    env.KILN_SECRET_NPM_TOKEN,
    redisPassword,
    encodeURIComponent(redisPassword),
    ...pemLines,
  ].filter((v): v is string => v !== undefined);
  // A message carrying all of them, the PEM whole (with its newlines) and the URL as configured.
  const message = [...forbidden.slice(0, 6), pem, env.KILN_REDIS_URL].join(' | ');
  return { env, forbidden, message };
}

/** Every key under `prefix` with every value it holds, whatever its Redis type. */
async function dumpKeys(redis: Redis, prefix: string): Promise<string> {
  const out: string[] = [];
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 500);
    cursor = next;
    for (const key of keys) {
      out.push(key);
      const type = await redis.type(key);
      if (type === 'string') out.push((await redis.get(key)) ?? '');
      else if (type === 'hash') out.push(JSON.stringify(await redis.hgetall(key)));
      else if (type === 'list') out.push(...(await redis.lrange(key, 0, -1)));
      else if (type === 'set') out.push(...(await redis.smembers(key)));
      else if (type === 'zset') out.push(...(await redis.zrange(key, 0, -1)));
      else if (type === 'stream') out.push(JSON.stringify(await redis.xrange(key, '-', '+')));
      else out.push(`<${type}>`);
    }
  } while (cursor !== '0');
  return out.join('\n');
}

async function waitFor(queue: Queue, id: string, state: 'failed' | 'completed'): Promise<Job> {
  for (let i = 0; i < 600; i++) {
    const job = await Job.fromId(queue, id);
    // Read the job again once it is there: the first copy may predate the state change.
    if (job && (await job.getState()) === state) return (await Job.fromId(queue, id)) ?? job;
    await sleep(50);
  }
  throw new Error(`job ${id} did not become ${state}`);
}

let redis: Redis;
beforeAll(() => {
  redis = createRedis(testRedisUrl());
});
afterAll(() => redis.disconnect());

describe('secrets never reach Redis or the logs', () => {
  it('masks every configured secret in failed reasons, stack traces, job logs, progress, results and log lines', async () => {
    const { env, forbidden, message } = secretEnvironment();
    // What start-up does: the configuration's secrets are registered with the logger.
    registerSecrets(configSecrets(loadConfig(env), env));

    const lines: string[] = [];
    const log = createLogger(
      { level: 'debug' },
      new Writable({
        write(chunk: Buffer, _enc, cb) {
          lines.push(chunk.toString());
          cb();
        },
      }),
    );
    const prefix = uniqueName('secrets');
    const connection = redisOptions(testRedisUrl());
    const build = new Queue(QueueName.build, { connection, prefix });
    const producer = createFlowProducer(connection, prefix);
    const workers = startWorkers({
      connection,
      prefix,
      concurrency: 2,
      log,
      jobTimeoutMs: 30_000,
      backoffMs: 10,
      processors: {
        build: async ({ request, arch }, ctx) => {
          await ctx.progress({ stage: 'fetching', detail: message });
          ctx.appendLog(`using ${message}`);
          ctx.log.info({ detail: message }, `about to fail with ${message}`);
          if (request.recipe === 'permanent')
            throw new PermanentError(`bad input ${message}`, { cause: new Error(message) });
          if (request.recipe === 'transient') throw new TransientError(`flaky ${message}`);
          return { ...noopBuildResult(arch), builder: { id: 'noop', version: message } };
        },
        publish: async (data, builds) =>
          noopPublishResult(
            data.request,
            builds.map((b) => b.arch),
          ),
      },
    });
    try {
      const permanent = await enqueueBuild(producer, buildRequest({ recipe: 'permanent' }));
      const transient = await enqueueBuild(producer, buildRequest({ recipe: 'transient' }), {
        attempts: 2,
        backoffMs: 10,
      });
      const succeeding = await enqueueBuild(producer, buildRequest({ recipe: 'fine' }));
      const failedPermanent = await waitFor(build, permanent.buildJobIds[0] ?? '', 'failed');
      const failedTransient = await waitFor(build, transient.buildJobIds[0] ?? '', 'failed');
      const done = await waitFor(build, succeeding.buildJobIds[0] ?? '', 'completed');
      expect(JSON.stringify(done.returnvalue)).toContain('[REDACTED]');
      // The failures happened and carry their (masked) reasons.
      expect(failedPermanent.failedReason).toMatch(/^bad input \[REDACTED\]/);
      expect(failedTransient.failedReason).toMatch(/^flaky \[REDACTED\]/);
      expect(failedTransient.attemptsMade).toBe(2);

      const stored = await dumpKeys(redis, prefix);
      expect(stored).toContain('bad input');
      expect(stored).toContain('[REDACTED]');
      const logged = lines.join('');
      expect(logged).toContain('about to fail with');
      for (const secret of forbidden) {
        expect(stored, `Redis holds ${secret}`).not.toContain(secret);
        expect(logged, `the log holds ${secret}`).not.toContain(secret);
      }
    } finally {
      await workers.drain();
      await producer.close();
      await build.obliterate({ force: true }).catch(() => {});
      await build.close();
      for (const key of (await redis.keys(`${prefix}:*`)) as string[]) await redis.del(key);
    }
  });
});
