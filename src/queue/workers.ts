import { UnrecoverableError, Worker, type ConnectionOptions, type Job } from 'bullmq';
import { describeError, isPermanent } from '../errors.ts';
import { maskJson, maskSecrets, type Logger } from '../log.ts';
import { backoffDelay, backoffType } from './backoff.ts';
import { QueueName } from './names.ts';
import type { BuildResult } from '../model/build-result.ts';
import type { PublishResult } from '../model/publish-result.ts';
import type { BuildJobData, PublishJobData } from './types.ts';

/** What a processor gets besides its data. */
export interface JobContext {
  jobId: string;
  /** 1 on the first run, 2 on the first retry… */
  attempt: number;
  /** Aborted when the job exceeds its timeout or the worker is force-closed. */
  signal: AbortSignal;
  progress(update: { stage: string; percent?: number; detail?: string }): Promise<void>;
  /** Appends a line to the job's own log (the dashboard shows it); never throws. */
  appendLog(line: string): void;
  log: Logger;
}

/** The work itself; the queue layer only adds retries, ids, progress and shutdown. */
export interface Processors {
  build(data: BuildJobData, ctx: JobContext): Promise<BuildResult>;
  publish(data: PublishJobData, builds: BuildResult[], ctx: JobContext): Promise<PublishResult>;
}

export interface WorkerOptions {
  connection: ConnectionOptions;
  prefix: string;
  concurrency: number;
  processors: Processors;
  log: Logger;
  /** Per-job time limit; the job's signal is aborted when it passes. */
  jobTimeoutMs: number;
  backoffMs?: number;
  /** How long a worker holds a job's lock without renewing it (a killed worker's jobs stall after this). */
  lockDurationMs?: number;
  stalledIntervalMs?: number;
  /** Which queues this process serves (default both). */
  queues?: (keyof typeof QueueName)[];
}

export interface PipelineWorkers {
  workers: Worker[];
  /** Stops taking jobs, lets running ones finish, then resolves. */
  drain(): Promise<void>;
}

/** Starts the build and publish workers over the injected processors. */
export function startWorkers(options: WorkerOptions): PipelineWorkers {
  const controllers = new Set<AbortController>();
  const common = {
    connection: options.connection,
    prefix: options.prefix,
    concurrency: options.concurrency,
    lockDuration: options.lockDurationMs ?? 30_000,
    stalledInterval: options.stalledIntervalMs ?? 30_000,
    maxStalledCount: 2,
    settings: {
      backoffStrategy: (attemptsMade: number, type?: string, error?: Error) =>
        type === backoffType ? backoffDelay(attemptsMade, error, options.backoffMs ?? 5_000) : 0,
    },
  };

  const run = async <T>(job: Job, work: (ctx: JobContext) => Promise<T>): Promise<T> => {
    const controller = new AbortController();
    controllers.add(controller);
    const timer = setTimeout(
      () =>
        controller.abort(
          new Error(`job ${job.name} exceeded its ${options.jobTimeoutMs} ms limit`),
        ),
      options.jobTimeoutMs,
    );
    const log = options.log.child({ job: job.id, name: job.name, attempt: job.attemptsMade + 1 });
    try {
      // What a job returns is stored in Redis too.
      return maskJson(
        await work({
          jobId: job.id ?? '',
          attempt: job.attemptsMade + 1,
          signal: controller.signal,
          progress: (update) => job.updateProgress(maskJson(update)),
          appendLog: (line) => {
            job.log(maskSecrets(line)).catch(() => {});
          },
          log,
        }),
      );
    } catch (error) {
      // BullMQ stores the message as the job's failedReason and the stack in its stacktrace:
      // both are masked before they reach Redis.
      const reason = maskSecrets(describeError(error));
      if (isPermanent(error)) {
        log.error({ reason }, 'job failed permanently');
        throw maskedError(new UnrecoverableError(reason));
      }
      log.warn({ reason }, 'job failed, will retry if attempts remain');
      throw maskedError(error);
    } finally {
      clearTimeout(timer);
      controllers.delete(controller);
    }
  };

  const wanted = options.queues ?? ['build', 'publish'];
  const workers: Worker[] = [];
  if (wanted.includes('build')) {
    workers.push(
      new Worker<BuildJobData, BuildResult>(
        QueueName.build,
        (job) => run(job, (ctx) => options.processors.build(job.data, ctx)),
        common,
      ),
    );
  }
  if (wanted.includes('publish')) {
    workers.push(
      new Worker<PublishJobData, PublishResult>(
        QueueName.publish,
        (job) =>
          run(job, async (ctx) => {
            const values = await job.getChildrenValues<BuildResult>();
            const builds = Object.values(values).sort((a, b) => a.arch.localeCompare(b.arch));
            return options.processors.publish(job.data, builds, ctx);
          }),
        { ...common, concurrency: Math.max(1, Math.ceil(options.concurrency / 2)) },
      ),
    );
  }
  for (const worker of workers) {
    worker.on('error', (error) => options.log.error({ err: describeError(error) }, 'worker error'));
  }

  return {
    workers,
    async drain() {
      await Promise.all(workers.map((w) => w.close()));
    },
  };
}

/** The error with registered secrets masked in its message and stack, its class kept for backoff. */
function maskedError(error: unknown): Error {
  if (!(error instanceof Error)) return new Error(maskSecrets(String(error)));
  error.message = maskSecrets(error.message);
  if (error.stack) error.stack = maskSecrets(error.stack);
  return error;
}
