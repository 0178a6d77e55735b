import { FlowProducer, type ConnectionOptions, type FlowJob, type JobsOptions } from 'bullmq';
import { backoffType } from './backoff.ts';
import { buildJobId, publishJobId } from './ids.ts';
import { QueueName } from './names.ts';
import { Priority, type BuildRequest } from '../model/build-request.ts';
import type { BuildJobData, PublishJobData } from './types.ts';

export interface EnqueueOptions {
  /** Attempts per job before it fails for good (transient errors only; permanent ones fail at once). */
  attempts?: number;
  /** First retry delay; later ones double. */
  backoffMs?: number;
}

export interface EnqueuedFlow {
  publishJobId: string;
  buildJobIds: string[];
}

/**
 * The BullMQ flow of one build request: one build job per arch under one publish job. `attempt`
 * (attempts.ts) is 0 unless an earlier attempt of the same request failed or was lost.
 */
function flowOf(
  request: BuildRequest,
  options: EnqueueOptions,
  attempt = 0,
): { flow: FlowJob; ids: EnqueuedFlow } {
  const common: JobsOptions = {
    priority: Priority[request.priority],
    attempts: options.attempts ?? 5,
    backoff: { type: backoffType, delay: options.backoffMs ?? 5_000 },
    removeOnComplete: { age: 7 * 24 * 3600, count: 5000 },
    removeOnFail: { age: 30 * 24 * 3600 },
  };
  const parentId = publishJobId(request.recipe, request.version, request.inputsDigest, attempt);
  const buildIds = request.archs.map((arch) =>
    buildJobId(request.recipe, request.version, request.inputsDigest, arch, attempt),
  );
  const flow: FlowJob = {
    name: `publish ${request.recipe} ${request.version}-r${request.epoch}`,
    queueName: QueueName.publish,
    data: { request } satisfies PublishJobData,
    opts: { ...common, jobId: parentId },
    children: request.archs.map((arch, i) => ({
      name: `build ${request.recipe} ${request.version}-r${request.epoch} ${arch}`,
      queueName: QueueName.build,
      data: { request, arch } satisfies BuildJobData,
      opts: { ...common, jobId: buildIds[i], failParentOnFailure: true },
    })),
  };
  return { flow, ids: { publishJobId: parentId, buildJobIds: buildIds } };
}

/**
 * Enqueues one build request as a BullMQ flow: one build job per arch, then a publish job that
 * runs once all of them have succeeded. Ids come from the request's identity, so enqueueing the
 * same request again (from any process) adds nothing.
 */
export async function enqueueBuild(
  flows: FlowProducer,
  request: BuildRequest,
  options: EnqueueOptions = {},
): Promise<EnqueuedFlow> {
  const { flow, ids } = flowOf(request, options);
  await flows.add(flow);
  return ids;
}

/**
 * Enqueues many build requests in one Redis transaction per batch: what a planning cycle does.
 * `requestAttempts[i]` is the attempt of `requests[i]` (attemptsFor, attempts.ts); default 0.
 */
export async function enqueueBuilds(
  flows: FlowProducer,
  requests: readonly BuildRequest[],
  options: EnqueueOptions & { batchSize?: number; requestAttempts?: readonly number[] } = {},
): Promise<EnqueuedFlow[]> {
  const made = requests.map((r, i) => flowOf(r, options, options.requestAttempts?.[i] ?? 0));
  const size = options.batchSize ?? 200;
  for (let i = 0; i < made.length; i += size) {
    await flows.addBulk(made.slice(i, i + size).map((m) => m.flow));
  }
  return made.map((m) => m.ids);
}

export function createFlowProducer(connection: ConnectionOptions, prefix: string): FlowProducer {
  return new FlowProducer({ connection, prefix });
}
