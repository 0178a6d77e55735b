import { FlowProducer, type ConnectionOptions, type JobsOptions } from 'bullmq';
import { backoffType } from './backoff.ts';
import { buildJobId, publishJobId } from './ids.ts';
import { QueueName } from './names.ts';
import { Priority, type BuildJobData, type BuildRequest, type PublishJobData } from './types.ts';

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
 * Enqueues one build request as a BullMQ flow: one build job per arch, then a publish job that
 * runs once all of them have succeeded. Ids come from the request's identity, so enqueueing the
 * same request again (from any process) adds nothing.
 */
export async function enqueueBuild(
  flows: FlowProducer,
  request: BuildRequest,
  options: EnqueueOptions = {},
): Promise<EnqueuedFlow> {
  const common: JobsOptions = {
    priority: Priority[request.priority],
    attempts: options.attempts ?? 5,
    backoff: { type: backoffType, delay: options.backoffMs ?? 5_000 },
    removeOnComplete: { age: 7 * 24 * 3600, count: 5000 },
    removeOnFail: { age: 30 * 24 * 3600 },
  };
  const parentId = publishJobId(request.recipe, request.version, request.inputsDigest);
  const buildIds = request.archs.map((arch) => buildJobId(request.recipe, request.version, request.inputsDigest, arch));
  await flows.add({
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
  });
  return { publishJobId: parentId, buildJobIds: buildIds };
}

export function createFlowProducer(connection: ConnectionOptions, prefix: string): FlowProducer {
  return new FlowProducer({ connection, prefix });
}
