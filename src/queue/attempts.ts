import type { Queue } from 'bullmq';
import type { RedisClient } from './connection.ts';
import { buildJobId, publishJobId } from './ids.ts';
import { findJob, openQueues } from './queues.ts';
import type { BuildRequest } from '../model/build-request.ts';
import { redisKeys } from './keys.ts';

/*
 * Which attempt of a request a plan enqueues. BullMQ's custom job ids collapse every add of an id
 * that exists in any state, and kiln keeps failed jobs for 30 days (completed ones for 7): with one
 * id per request, a request that failed for good, or whose image the registry lost after it was
 * published, could not run again. So a planned request goes in as attempt N, the first whose
 * publish job is
 *   - missing (never enqueued, removed by age, or lost with Redis): enqueue it;
 *   - pending or running: collapse into it, as before;
 *   - completed after the registry was read: collapse, the next plan looks again;
 * and it moves past an attempt whose publish job failed, or completed before the registry state
 * the plan compared against was read (so that state lacks the image: it was lost). A hint in
 * Redis, P:attempt:<first publish id> (only ever raised), keeps the walk short; without it (after
 * a Redis loss) the walk starts at 0, where every job is missing too.
 *
 * Two planners that race compute the same N from the same jobs, so they still add one flow.
 */

const hintTtlSeconds = 31 * 24 * 3600;

// Raises the hint, never lowers it: a slower planner must not send the walk back to older attempts.
const raiseHint = `
local current = tonumber(redis.call('GET', KEYS[1]) or '-1')
if tonumber(ARGV[1]) > current then
  redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
end
return 0`;

export interface AttemptOptions {
  /**
   * When the registry state the plan compared against was read, in epoch ms. A publish job that
   * completed before it and is planned again published an image the registry no longer holds.
   */
  observedAt: number;
}

/** The attempt to enqueue for each request, in order (see the top of this file). */
export async function attemptsFor(
  redis: RedisClient,
  prefix: string,
  requests: readonly BuildRequest[],
  options: AttemptOptions,
): Promise<number[]> {
  // Over kiln's own client (shared, so closing the queue leaves it open): no new connection.
  const { build, publish, close } = openQueues({ connection: redis, prefix });
  try {
    const out: number[] = [];
    for (const request of requests)
      out.push(await attemptOf(redis, prefix, publish, build, request, options));
    return out;
  } finally {
    await close();
  }
}

async function attemptOf(
  redis: RedisClient,
  prefix: string,
  publish: Queue,
  build: Queue,
  request: BuildRequest,
  options: AttemptOptions,
): Promise<number> {
  const hintKey = redisKeys(prefix).attemptHint(
    publishJobId(request.recipe, request.version, request.inputsDigest),
  );
  const hint = Number((await redis.get(hintKey)) ?? 0);
  let attempt = Number.isInteger(hint) && hint > 0 ? hint : 0;
  for (;;) {
    const id = publishJobId(request.recipe, request.version, request.inputsDigest, attempt);
    const state = await publish.getJobState(id);
    if (state === 'unknown') {
      // A parent gone while a child of the same attempt is kept would wait for that child forever.
      if (!(await anyBuildExists(build, request, attempt))) break;
    } else if (state === 'completed') {
      const job = await findJob(publish, id);
      if (!job?.finishedOn || job.finishedOn >= options.observedAt) break;
    } else if (state !== 'failed') {
      break;
    }
    attempt++;
  }
  if (attempt > hint)
    await redis.eval(raiseHint, 1, hintKey, String(attempt), String(hintTtlSeconds));
  return attempt;
}

async function anyBuildExists(
  build: Queue,
  request: BuildRequest,
  attempt: number,
): Promise<boolean> {
  for (const arch of request.archs) {
    const id = buildJobId(request.recipe, request.version, request.inputsDigest, arch, attempt);
    if ((await build.getJobState(id)) !== 'unknown') return true;
  }
  return false;
}
