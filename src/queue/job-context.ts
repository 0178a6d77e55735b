import type { Logger } from '../log.ts';
import type { BuildResult } from '../model/build-result.ts';
import type { PublishResult } from '../model/publish-result.ts';
import type { BuildJobData, PublishJobData } from './types.ts';

/** What a processor gets besides its data, in the worker process or in a job's child process. */
export interface JobContext {
  jobId: string;
  /** 1 on the first run, 2 on the first retry… */
  attempt: number;
  /** Aborted when the job exceeds its timeout or the worker is force-closed. */
  signal: AbortSignal;
  progress(update: JobProgress): Promise<void>;
  /** Appends a line to the job's own log (the dashboard shows it); never throws. */
  appendLog(line: string): void;
  log: Logger;
}

export interface JobProgress {
  stage: string;
  percent?: number;
  detail?: string;
}

/** The work itself; the queue layer only adds retries, ids, progress and shutdown. */
export interface Processors {
  build(data: BuildJobData, ctx: JobContext): Promise<BuildResult>;
  publish(data: PublishJobData, builds: BuildResult[], ctx: JobContext): Promise<PublishResult>;
}

/** A publish job's builds (its children's return values), in arch order. */
export function buildsOf(childrenValues: Record<string, BuildResult>): BuildResult[] {
  return Object.values(childrenValues).sort((a, b) => a.arch.localeCompare(b.arch));
}
