import { AsyncLocalStorage } from 'node:async_hooks';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import {
  ChildPool,
  Worker,
  type Child,
  type Job,
  type Processor,
  type WorkerOptions,
} from 'bullmq';

/*
 * BullMQ sandboxed processors: each job runs in a child process forked from the worker (BullMQ's
 * ChildPool keeps idle children for the next job). A crash in the child (a native decoder's abort,
 * the V8 heap limit) fails only that job, which BullMQ retries; the worker process goes on. What
 * BullMQ does not do is kill a child whose job overran: it only asks it to stop. kiln's worker
 * kills it when it has not stopped within a grace period, even with its event loop stuck.
 */

/** Which processor files the children run, and how they start. */
export interface SandboxedProcessors {
  kind: 'sandboxed';
  /** Absolute paths of the processor files (`workers/build.ts`, or `worker-build.js` in dist/). */
  files: { build: string; publish: string };
  /** Extra environment for the children (the worker's own environment is inherited). */
  env?: Record<string, string>;
  /** V8 heap limit of each child, in MiB (`--max-old-space-size`); default Node's. */
  maxOldSpaceMb?: number;
}

/** What the worker does around each attempt: `work` runs it in a child, with the signal to stop it. */
export type AttemptRunner = <R>(
  job: Job,
  workerSignal: AbortSignal | undefined,
  work: (signal: AbortSignal) => Promise<R>,
) => Promise<R>;

/** A BullMQ worker over a processor file that kills a job's child once its job is aborted. */
export class SandboxedWorker extends Worker {
  private around: AttemptRunner | undefined;

  constructor(
    name: string,
    file: string,
    options: WorkerOptions,
    around: AttemptRunner,
    private readonly killGraceMs: number,
  ) {
    // Not started before `around` is set: createSandbox (called by BullMQ's constructor) reads it per job.
    super(name, file, { ...options, autorun: false });
    this.around = around;
    this.run().catch((error: unknown) =>
      this.emit('error', error instanceof Error ? error : new Error(String(error))),
    );
  }

  protected override createSandbox(processor: string | URL | null | Processor): void {
    super.createSandbox(processor);
    const pool: unknown = Reflect.get(this, 'childPool');
    if (!(pool instanceof ChildPool))
      throw new Error(
        'BullMQ made no child pool for a sandboxed processor: kiln cannot kill its jobs',
      );
    const inChild = this.processFn;
    // Which child a job got: the pool hands it out inside the job's own async context.
    const claims = new AsyncLocalStorage<(child: Child) => void>();
    const retain = pool.retain.bind(pool);
    pool.retain = async (file: string) => {
      const child = await retain(file);
      claims.getStore()?.(child);
      return child;
    };
    this.processFn = (job, token, workerSignal) => {
      const around = this.around;
      if (!around) throw new Error('sandboxed worker used before it was set up');
      return around(job, workerSignal, (signal) => {
        let child: Child | undefined;
        let killer: NodeJS.Timeout | undefined;
        const kill = () => {
          killer = setTimeout(() => void child?.kill('SIGKILL'), this.killGraceMs);
        };
        if (signal.aborted) kill();
        else signal.addEventListener('abort', kill, { once: true });
        return claims
          .run(
            (c) => (child = c),
            () => inChild(job, token, signal),
          )
          .finally(() => {
            clearTimeout(killer);
            signal.removeEventListener('abort', kill);
          });
      });
    };
  }
}

/** How a child starts: tsx's loader for TypeScript processor files, and the heap limit. */
export function forkOptions(file: string, sandbox: SandboxedProcessors) {
  const execArgv: string[] = [];
  if (file.endsWith('.ts')) {
    const loader = createRequire(import.meta.url).resolve('tsx/esm');
    execArgv.push('--import', pathToFileURL(loader).href);
  }
  if (sandbox.maxOldSpaceMb) execArgv.push(`--max-old-space-size=${sandbox.maxOldSpaceMb}`);
  return { execArgv, env: { ...process.env, ...sandbox.env } };
}
