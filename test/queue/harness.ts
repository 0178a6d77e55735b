import { Job, Queue, QueueEvents } from 'bullmq';
import { createLogger } from '../../src/log.ts';
import { redisOptions } from '../../src/queue/connection.ts';
import { createFlowProducer, enqueueBuild } from '../../src/queue/enqueue.ts';
import { QueueName } from '../../src/queue/names.ts';
import type { BuildRequest } from '../../src/model/build-request.ts';
import type { PublishResult } from '../../src/model/publish-result.ts';
import {
  startWorkers,
  type PipelineWorkers,
  type Processors,
  type WorkerOptions,
} from '../../src/queue/workers.ts';
import { buildRequest, noopBuildResult, noopPublishResult } from '../helpers/requests.ts';

const log = createLogger({ level: 'silent' });

/**
 * BullMQ objects of the queue tests over one KILN_REDIS_URL (a single Redis, a Cluster or a
 * Sentinel group), each closed by {@link QueueHarness.cleanup}: call it after every test.
 */
export class QueueHarness {
  private readonly cleanups: (() => Promise<void>)[] = [];

  /** `url` is read when an object is made: a file's Cluster or Sentinel starts in beforeAll. */
  constructor(private readonly url: () => string) {}

  get redisUrl(): string {
    return this.url();
  }

  onCleanup(cleanup: () => Promise<void>): void {
    this.cleanups.push(cleanup);
  }

  async cleanup(): Promise<void> {
    for (const c of this.cleanups.splice(0).reverse()) await c();
  }

  queues(prefix: string) {
    const connection = () => redisOptions(this.url());
    const build = new Queue(QueueName.build, { connection: connection(), prefix });
    const publish = new Queue(QueueName.publish, { connection: connection(), prefix });
    const events = new QueueEvents(QueueName.publish, { connection: connection(), prefix });
    this.onCleanup(async () => {
      await Promise.all([build.close(), publish.close(), events.close()]);
    });
    return { build, publish, events };
  }

  workers(
    prefix: string,
    processors: Processors,
    concurrency = 2,
    options: Partial<WorkerOptions> = {},
  ): PipelineWorkers {
    const w = startWorkers({
      connection: redisOptions(this.url()),
      prefix,
      concurrency,
      processors,
      log,
      jobTimeoutMs: 30_000,
      backoffMs: 50,
      ...options,
    });
    this.onCleanup(() => w.drain());
    return w;
  }

  producer(prefix: string) {
    const producer = createFlowProducer(redisOptions(this.url()), prefix);
    this.onCleanup(() => producer.close());
    return producer;
  }
}

/**
 * The pipeline in its smallest shape: one request with `archs`, one build job per arch and a
 * publish job after all of them. Returns what the processors saw, in order, and the result.
 */
export async function buildAndPublish(
  h: QueueHarness,
  prefix: string,
  archs: string[],
): Promise<{ seen: string[]; result: PublishResult }> {
  const seen: string[] = [];
  const q = h.queues(prefix);
  h.workers(prefix, {
    build: async ({ arch }) => {
      seen.push(`build ${arch}`);
      return noopBuildResult(arch);
    },
    publish: async (_data, builds) => {
      seen.push(`publish ${builds.map((b) => b.arch).join(',')}`);
      return fakePublish(builds.map((b) => b.arch));
    },
  });
  const ids = await enqueueBuild(h.producer(prefix), buildRequest({ archs }));
  const job = await Job.fromId(q.publish, ids.publishJobId);
  if (!job) throw new Error(`publish job ${ids.publishJobId} was not enqueued`);
  const result = await finishedResult(q.publish, job, q.events, 45_000);
  return { seen, result };
}

/**
 * A job's result: QueueEvents' notification, or the job's own state read every 200 ms. A full
 * suite once timed out after 20 s waiting for a publish's notification on the Cluster; what
 * these tests check is the flow and the keys, not BullMQ's event stream, so either decides.
 */
async function finishedResult(
  queue: Queue,
  job: Job,
  events: QueueEvents,
  ms: number,
): Promise<PublishResult> {
  const deadline = Date.now() + ms;
  let settled = false;
  const byEvent = job.waitUntilFinished(events, ms) as Promise<PublishResult>;
  const byState = (async (): Promise<PublishResult> => {
    while (!settled && Date.now() < deadline) {
      const fresh = await Job.fromId(queue, job.id ?? '');
      if (fresh?.finishedOn) {
        if (fresh.failedReason) throw new Error(fresh.failedReason);
        return fresh.returnvalue as PublishResult;
      }
      await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error(`publish job ${job.id ?? ''} did not finish within ${ms} ms`);
  })();
  byEvent.catch(() => undefined);
  byState.catch(() => undefined);
  try {
    return await Promise.race([byEvent, byState]);
  } finally {
    settled = true;
    await byState.catch(() => undefined);
  }
}

export function fakePublish(archs: string[]): PublishResult {
  return noopPublishResult({ recipe: 'demo', version: '1.2.3', repository: 'demo' }, archs);
}

/** Processors that take `buildMs` per build and write down every start and every finish. */
export function recordingProcessors(buildMs: number) {
  const record = {
    buildStarts: [] as string[],
    builds: [] as string[],
    publishes: [] as string[],
  };
  const processors: Processors = {
    build: async ({ request, arch }) => {
      const id = `${request.recipe}/${arch}`;
      record.buildStarts.push(id);
      await new Promise((r) => setTimeout(r, buildMs));
      record.builds.push(id);
      return noopBuildResult(arch);
    },
    publish: async ({ request }, builds) => {
      record.publishes.push(`${request.recipe}:${builds.map((b) => b.arch).join(',')}`);
      return noopPublishResult(
        request,
        builds.map((b) => b.arch),
      );
    },
  };
  return { record, processors };
}

/** A planning cycle's worth of requests: `count` recipes, each built for amd64 and arm64. */
export function cycleRequests(count: number): BuildRequest[] {
  return Array.from({ length: count }, (_, i) =>
    buildRequest({ recipe: `r${i}`, repository: `r${i}`, archs: ['amd64', 'arm64'] }),
  );
}

/** What a cycle of {@link cycleRequests} must have recorded: every job exactly once. */
export function expectedRecords(count: number) {
  const recipes = Array.from({ length: count }, (_, i) => `r${i}`);
  const builds = recipes.flatMap((r) => [`${r}/amd64`, `${r}/arm64`]).sort();
  return { builds, publishes: recipes.map((r) => `${r}:amd64,arm64`).sort() };
}
