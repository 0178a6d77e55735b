import type { SandboxedJob } from 'bullmq';
import { maskJson, maskSecrets, type Logger } from '../log.ts';
import { failureForParent } from './job-failure.ts';
import type { JobContext } from './job-context.ts';

/*
 * The child-process side of a sandboxed processor (workers/*.ts): BullMQ hands the child a copy
 * of the job and proxies progress, log lines and children's values to the worker over IPC.
 */

/** The jobs this child runs; when the worker process dies (its IPC channel closes), they stop. */
class ChildJobs {
  private readonly running = new Set<AbortController>();
  private watching = false;

  start(): AbortController {
    if (!this.watching && process.send) {
      this.watching = true;
      // A SIGKILLed worker cannot stop its children: they stop themselves, and their builds.
      process.once('disconnect', () => this.orphaned());
    }
    const controller = new AbortController();
    this.running.add(controller);
    return controller;
  }

  end(controller: AbortController): void {
    this.running.delete(controller);
  }

  // At once, not on a timer: with the channel gone, BullMQ's own handlers can spin on failed sends.
  private orphaned(): void {
    // Aborting makes the builders kill their tools (synchronously, in the abort listeners).
    for (const c of this.running) c.abort(new Error('the worker process went away'));
    process.exit(1);
  }
}

const jobs = new ChildJobs();

/**
 * A processor file's default export: runs `work` with a {@link JobContext} for the job (its
 * progress and log lines masked), and fails the job with its failure's kind, masked.
 */
export function sandboxedProcessor<D, R>(
  work: (data: D, ctx: JobContext, job: SandboxedJob<D, R>) => Promise<R>,
  logger: () => Promise<Logger>,
) {
  return async (job: SandboxedJob<D, R>, _token?: string, signal?: AbortSignal): Promise<R> => {
    const own = jobs.start();
    try {
      const base = await logger();
      const log = base.child({ job: job.id, name: job.name, attempt: job.attemptsMade + 1 });
      appendLog(job, `running in child process ${process.pid} of worker ${process.ppid}`);
      const ctx: JobContext = {
        jobId: job.id,
        attempt: job.attemptsMade + 1,
        signal: signal ? AbortSignal.any([signal, own.signal]) : own.signal,
        progress: (update) => job.updateProgress(maskJson(update)),
        appendLog: (line) => appendLog(job, maskSecrets(line)),
        log,
      };
      return await work(job.data, ctx, job);
    } catch (error) {
      throw failureForParent(error);
    } finally {
      jobs.end(own);
    }
  };
}

/** A line in the job's log, best effort: a closed channel must not fail the build. */
function appendLog(job: Pick<SandboxedJob, 'log'>, line: string): void {
  try {
    Promise.resolve(job.log(line)).catch(() => {});
  } catch {
    // the IPC channel is already closed
  }
}
