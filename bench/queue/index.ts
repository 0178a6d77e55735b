/*
 * Jobs per second through kiln's build→publish flow (one build job per arch, then a publish job,
 * idempotent ids, kiln's workers) with a no-op builder, beside raw BullMQ (one queue, no-op
 * processor), on the same Redis in the same run. One kiln "job pair" = one build + one publish.
 */
import { Queue, QueueEvents, Worker } from 'bullmq';
import { createLogger } from '../../src/log.ts';
import { redisOptions } from '../../src/queue/connection.ts';
import { createFlowProducer, enqueueBuilds } from '../../src/queue/enqueue.ts';
import { QueueName } from '../../src/queue/names.ts';
import { startWorkers } from '../../src/queue/workers.ts';
import { buildRequest, noopBuildResult, noopPublishResult } from '../../test/helpers/requests.ts';
import { benchStack } from '../lib/stack.ts';
import { fixed, printTable } from '../lib/table.ts';

const N = Number(process.env.BENCH_JOBS ?? 2000);
const concurrency = Number(process.env.BENCH_CONCURRENCY ?? 16);
const log = createLogger({ level: 'silent' });

async function rawBullmq(url: string): Promise<number> {
  const prefix = 'raw';
  const queue = new Queue('raw', { connection: redisOptions(url), prefix });
  let done = 0;
  let finish: () => void = () => {};
  const allDone = new Promise<void>((r) => (finish = r));
  const worker = new Worker(
    'raw',
    async () => {
      if (++done === N) finish();
    },
    { connection: redisOptions(url), prefix, concurrency },
  );
  const start = performance.now();
  for (let i = 0; i < N; i += 500) {
    await queue.addBulk(
      Array.from({ length: Math.min(500, N - i) }, (_, j) => ({
        name: 'noop',
        data: { i: i + j },
        opts: { jobId: `raw-${i + j}` },
      })),
    );
  }
  await allDone;
  const seconds = (performance.now() - start) / 1000;
  await worker.close();
  await queue.close();
  return N / seconds;
}

async function kilnFlow(url: string): Promise<number> {
  const prefix = 'kiln';
  const events = new QueueEvents(QueueName.publish, { connection: redisOptions(url), prefix });
  const flows = createFlowProducer(redisOptions(url), prefix);
  let published = 0;
  let finish: () => void = () => {};
  const allDone = new Promise<void>((r) => (finish = r));
  const workers = startWorkers({
    connection: redisOptions(url),
    prefix,
    concurrency,
    log,
    jobTimeoutMs: 60_000,
    processors: {
      build: async ({ arch }) => noopBuildResult(arch),
      publish: async ({ request }) => {
        if (++published === N) finish();
        return noopPublishResult(request);
      },
    },
  });
  const start = performance.now();
  // As a planning cycle does: every due request in bulk.
  await enqueueBuilds(
    flows,
    Array.from({ length: N }, (_, i) => buildRequest({ recipe: `r${i}` })),
    { batchSize: 500 },
  );
  await allDone;
  const seconds = (performance.now() - start) / 1000;
  await workers.drain();
  await flows.close();
  await events.close();
  return N / seconds;
}

const stack = await benchStack();
try {
  const raw = await rawBullmq(stack.redis.url);
  const kiln = await kilnFlow(stack.redis.url);
  printTable(
    `bench/queue: ${N} jobs, worker concurrency ${concurrency}, one Redis (AOF on)`,
    ['pipeline', 'jobs/s', 'vs raw BullMQ'],
    [
      ['raw BullMQ: one queue, no-op processor', fixed(raw), '100%'],
      [
        'kiln flow: build(amd64) → publish pairs, no-op builder',
        fixed(kiln),
        `${fixed((kiln / raw) * 100)}% (goal ≥ 30%)`,
      ],
    ],
  );
} finally {
  await stack.stop();
}
