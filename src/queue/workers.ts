import {
  UnrecoverableError,
  Worker,
  type ConnectionOptions,
  type Job,
  type WorkerOptions as BullWorkerOptions,
} from 'bullmq';
import { describeError, isPermanent } from '../errors.ts';
import { maskJson, maskSecrets, type Logger } from '../log.ts';
import type { BuildResult } from '../model/build-result.ts';
import type { PublishResult } from '../model/publish-result.ts';
import { backoffDelay, backoffType } from './backoff.ts';
import { failureFromChild, maskedError } from './job-failure.ts';
import { buildsOf, type JobContext, type Processors } from './job-context.ts';
import { QueueName } from './names.ts';
import { forkOptions, SandboxedWorker, type SandboxedProcessors } from './sandbox.ts';
import type { BuildJobData, PublishJobData } from './types.ts';

export type { JobContext, Processors } from './job-context.ts';
export type { SandboxedProcessors } from './sandbox.ts';

export interface WorkerOptions {
  connection: ConnectionOptions;
  prefix: string;
  concurrency: number;
  /**
   * The work: processor files run in a child process per job (what `kiln worker` and `kiln up`
   * use, see workers/), or functions run in this process (tests that count or hold jobs).
   */
  processors: Processors | SandboxedProcessors;
  log: Logger;
  /** Per-job time limit; the job's signal is aborted when it passes. */
  jobTimeoutMs: number;
  /** How long an aborted job's child may take to stop before it is killed (default 10 s). */
  killGraceMs?: number;
  backoffMs?: number;
  /** How long a worker holds a job's lock without renewing it (a killed worker's jobs stall after this). */
  lockDurationMs?: number;
  stalledIntervalMs?: number;
  /** Which queues this process serves (default both). */
  queues?: (keyof typeof QueueName)[];
}

export interface PipelineWorkers {
  workers: Worker[];
  /**
   * Stops taking jobs, lets running ones finish, then resolves. With `force`, running jobs are
   * aborted (their children killed after the grace period) instead of awaited.
   */
  drain(options?: { force?: boolean }): Promise<void>;
}

/** Starts the build and publish workers over the given processors. */
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

  // One attempt of a job, wherever it runs: its time limit, and its failure classified and masked.
  const attempt = async <T>(
    job: Job,
    workerSignal: AbortSignal | undefined,
    work: (signal: AbortSignal, log: Logger) => Promise<T>,
  ): Promise<T> => {
    const controller = new AbortController();
    controllers.add(controller);
    const onWorkerAbort = () => controller.abort(workerSignal?.reason);
    workerSignal?.addEventListener('abort', onWorkerAbort, { once: true });
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
      return maskJson(await work(controller.signal, log));
    } catch (thrown) {
      // An aborted job fails with why it was aborted, whatever the work threw on its way out.
      const error = controller.signal.aborted ? reasonOf(controller.signal.reason, thrown) : thrown;
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
      workerSignal?.removeEventListener('abort', onWorkerAbort);
      controllers.delete(controller);
    }
  };

  const wanted = options.queues ?? ['build', 'publish'];
  const publishConcurrency = Math.max(1, Math.ceil(options.concurrency / 2));
  const make =
    'kind' in options.processors
      ? sandboxedWorker(options.processors, common, attempt, options.killGraceMs ?? 10_000)
      : inProcessWorker(options.processors, common, attempt);
  const workers: Worker[] = [];
  if (wanted.includes('build')) workers.push(make('build', options.concurrency));
  if (wanted.includes('publish')) workers.push(make('publish', publishConcurrency));
  for (const worker of workers) {
    worker.on('error', (error) => options.log.error({ err: describeError(error) }, 'worker error'));
  }

  return {
    workers,
    async drain(drainOptions = {}) {
      if (drainOptions.force) {
        for (const c of controllers) c.abort(new Error('the worker was force-closed'));
      }
      await Promise.all(workers.map((w) => w.close(drainOptions.force)));
    },
  };
}

type Attempt = <T>(
  job: Job,
  workerSignal: AbortSignal | undefined,
  work: (signal: AbortSignal, log: Logger) => Promise<T>,
) => Promise<T>;

type CommonOptions = BullWorkerOptions;

function sandboxedWorker(
  sandbox: SandboxedProcessors,
  common: CommonOptions,
  attempt: Attempt,
  killGraceMs: number,
) {
  return (queue: keyof typeof QueueName, concurrency: number): Worker => {
    const file = sandbox.files[queue];
    return new SandboxedWorker(
      QueueName[queue],
      file,
      {
        ...common,
        concurrency,
        useWorkerThreads: false,
        workerForkOptions: forkOptions(file, sandbox),
      },
      (job, workerSignal, work) =>
        attempt(job, workerSignal, (signal) =>
          work(signal).catch((error: unknown) => {
            throw failureFromChild(error, `job ${job.name}`);
          }),
        ),
      killGraceMs,
    );
  };
}

function inProcessWorker(processors: Processors, common: CommonOptions, attempt: Attempt) {
  const contextOf = (job: Job, signal: AbortSignal, log: Logger): JobContext => ({
    jobId: job.id ?? '',
    attempt: job.attemptsMade + 1,
    signal,
    progress: (update) => job.updateProgress(maskJson(update)),
    appendLog: (line) => {
      job.log(maskSecrets(line)).catch(() => {});
    },
    log,
  });
  return (queue: keyof typeof QueueName, concurrency: number): Worker => {
    if (queue === 'build')
      return new Worker<BuildJobData, BuildResult>(
        QueueName.build,
        (job, _token, workerSignal) =>
          attempt(job, workerSignal, (signal, log) =>
            processors.build(job.data, contextOf(job, signal, log)),
          ),
        { ...common, concurrency },
      );
    return new Worker<PublishJobData, PublishResult>(
      QueueName.publish,
      (job, _token, workerSignal) =>
        attempt(job, workerSignal, async (signal, log) => {
          const builds = buildsOf(await job.getChildrenValues<BuildResult>());
          return processors.publish(job.data, builds, contextOf(job, signal, log));
        }),
      { ...common, concurrency },
    );
  };
}

/** Why an aborted job failed: the abort's reason, as an error. */
function reasonOf(reason: unknown, thrown: unknown): unknown {
  return reason instanceof Error ? reason : thrown;
}
