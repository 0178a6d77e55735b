import { Job, Queue, QueueEvents, type ConnectionOptions } from 'bullmq';
import { QueueName } from './names.ts';

/*
 * The one place outside workers.ts and enqueue.ts that makes BullMQ objects: every Queue,
 * QueueEvents and job lookup kiln does goes through here, so the prefix and connection rules
 * (hash-tagged on a Cluster, src/queue/prefix.ts) live in the queue layer alone.
 */

export type QueueId = keyof typeof QueueName;

export interface QueueAddress {
  connection: ConnectionOptions;
  prefix: string;
}

/** One of kiln's queues, for reading and managing jobs (not for processing them). */
export function openQueue(id: QueueId, at: QueueAddress): Queue {
  return new Queue(QueueName[id], { connection: at.connection, prefix: at.prefix });
}

/** Both queues, build first, with one close(). */
export function openQueues(at: QueueAddress): {
  build: Queue;
  publish: Queue;
  all: Queue[];
  close(): Promise<void>;
} {
  const build = openQueue('build', at);
  const publish = openQueue('publish', at);
  return {
    build,
    publish,
    all: [build, publish],
    async close() {
      await Promise.all([build.close(), publish.close()]);
    },
  };
}

export interface QueueEventsOptions {
  /** Start reading at this stream id (`${Date.now()}-0`: from now); default BullMQ's (`$`). */
  lastEventId?: string;
  autorun?: boolean;
}

/** The completed/failed event stream of one queue, on its own connection. */
export function openQueueEvents(
  name: string,
  at: QueueAddress,
  options: QueueEventsOptions = {},
): QueueEvents {
  return new QueueEvents(name, {
    connection: at.connection,
    prefix: at.prefix,
    ...(options.autorun !== undefined ? { autorun: options.autorun } : {}),
    ...(options.lastEventId !== undefined ? { lastEventId: options.lastEventId } : {}),
  });
}

/** A job by id, or undefined when the queue has none of that id. */
export async function findJob(queue: Queue, id: string): Promise<Job | undefined> {
  return (await Job.fromId(queue, id)) ?? undefined;
}
