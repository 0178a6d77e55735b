import type { Job, Queue } from 'bullmq';
import { z } from 'zod';

/** Job states the API reports, in the order people read them. */
export const jobStates = [
  'active',
  'waiting',
  'prioritized',
  'waiting-children',
  'delayed',
  'failed',
  'completed',
  'paused',
] as const;
export type JobState = (typeof jobStates)[number];

export interface JobView {
  id: string | undefined;
  queue: string;
  name: string;
  state: JobState;
  attemptsMade: number;
  /** Why the job failed (the error's message), for failed jobs and for retries waiting. */
  failedReason: string | undefined;
  recipe: string | undefined;
  version: string | undefined;
  arch: string | undefined;
  createdAt: string | undefined;
  startedAt: string | undefined;
  finishedAt: string | undefined;
  /** The stage a running job reported last (`build`, `push`, `signature`…), and how far it is. */
  progress: { stage: string; percent: number | undefined } | undefined;
}

/** Reads a job's reported progress leniently: kiln reports `{ stage, percent? }`. */
function progressOf(value: unknown): JobView['progress'] {
  if (
    typeof value !== 'object' ||
    value === null ||
    !('stage' in value) ||
    typeof value.stage !== 'string'
  )
    return undefined;
  const percent =
    'percent' in value && typeof value.percent === 'number' ? value.percent : undefined;
  return { stage: value.stage, percent };
}

const iso = (ms: number | undefined) => (ms ? new Date(ms).toISOString() : undefined);

/** What the API reads of a job's data: leniently, so jobs from any kiln version still list. */
const jobDataSchema = z.object({
  request: z.object({ recipe: z.string().optional(), version: z.string().optional() }).optional(),
  arch: z.string().optional(),
});

function dataOf(data: unknown): z.infer<typeof jobDataSchema> {
  const parsed = jobDataSchema.safeParse(data);
  return parsed.success ? parsed.data : {};
}

function view(job: Job, queue: string, state: JobState): JobView {
  const data = dataOf(job.data);
  return {
    id: job.id,
    queue,
    name: job.name,
    state,
    attemptsMade: job.attemptsMade,
    failedReason: job.failedReason || undefined,
    recipe: data.request?.recipe,
    version: data.request?.version,
    arch: data.arch,
    createdAt: iso(job.timestamp),
    startedAt: iso(job.processedOn),
    finishedAt: iso(job.finishedOn),
    progress: progressOf(job.progress),
  };
}

/** Job counts per queue and state, and up to `limit` jobs per queue and state, newest first. */
export async function listJobs(
  queues: readonly Queue[],
  options: { states?: readonly JobState[]; limit?: number } = {},
): Promise<{ queues: { name: string; counts: Record<string, number> }[]; jobs: JobView[] }> {
  const states = options.states ?? jobStates;
  const limit = options.limit ?? 50;
  const perQueue = await Promise.all(
    queues.map(async (queue) => {
      const counts = await queue.getJobCounts(...jobStates);
      const jobs = await Promise.all(
        states.map(async (state) =>
          (await queue.getJobs([state], 0, limit - 1, false))
            .filter(Boolean)
            .map((job) => view(job, queue.name, state)),
        ),
      );
      return { counts: { name: queue.name, counts }, jobs: jobs.flat() };
    }),
  );
  return { queues: perQueue.map((q) => q.counts), jobs: perQueue.flatMap((q) => q.jobs) };
}
