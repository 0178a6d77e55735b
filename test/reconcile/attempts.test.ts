import { Job } from 'bullmq';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { PermanentError } from '../../src/errors.ts';
import { attemptsFor } from '../../src/queue/attempts.ts';
import { createRedis, type RedisClient } from '../../src/queue/connection.ts';
import { enqueueBuilds } from '../../src/queue/enqueue.ts';
import { buildJobId, publishJobId, requestKey } from '../../src/queue/ids.ts';
import type { BuildRequest } from '../../src/model/build-request.ts';
import { buildRequest, noopBuildResult } from '../helpers/requests.ts';
import { testRedisUrl, uniqueName } from '../helpers/stack.ts';
import { fakePublish, QueueHarness } from '../queue/harness.ts';

/*
 * A request that failed for good, or whose image was lost after it was published, gets a new
 * attempt (new job ids) when planned again; while one attempt is pending, planning it again,
 * from one planner or two, still gives that one job.
 */

let redis: RedisClient;
beforeAll(() => {
  redis = createRedis(testRedisUrl());
});
afterAll(() => redis.disconnect());
const h = new QueueHarness(testRedisUrl);
afterEach(() => h.cleanup());

/** What a planning pass does with its requests: pick their attempts, then enqueue. */
async function plan(prefix: string, requests: BuildRequest[], observedAt = Date.now()) {
  const attempts = await attemptsFor(redis, prefix, requests, { observedAt });
  const flows = await enqueueBuilds(h.producer(prefix), requests, { requestAttempts: attempts });
  return { attempts, flows };
}

describe('attempts of a planned request', () => {
  it('keep the first attempt’s ids as they were, and differ by inputs digest at every attempt', () => {
    const a = `sha256:${'a'.repeat(64)}`;
    const b = `sha256:${'b'.repeat(64)}`;
    expect(publishJobId('demo', '1.0', a, 0)).toBe(publishJobId('demo', '1.0', a));
    expect(buildJobId('demo', '1.0', a, 'amd64', 0)).toBe(buildJobId('demo', '1.0', a, 'amd64'));
    expect(publishJobId('demo', '1.0', a, 1)).not.toBe(publishJobId('demo', '1.0', a));
    expect(publishJobId('demo', '1.0', a, 1)).not.toBe(publishJobId('demo', '1.0', b, 1));
    expect(buildJobId('demo', '1.0', a, 'amd64', 2)).not.toBe(
      buildJobId('demo', '1.0', b, 'amd64', 2),
    );
    expect(requestKey({ recipe: 'demo', version: '1.0', inputsDigest: a })).toBe(
      publishJobId('demo', '1.0', a),
    );
  });

  it('a failed request runs again as a new job; a pending one collapses, also across planners', async () => {
    const prefix = uniqueName('attempts');
    const q = h.queues(prefix);
    const request = buildRequest({ archs: ['amd64', 'arm64'] });

    // Pending: two passes, then two planners at once, still one flow.
    const first = await plan(prefix, [request]);
    await plan(prefix, [request]);
    await Promise.all([plan(prefix, [request]), plan(prefix, [request])]);
    expect(first.attempts).toEqual([0]);
    expect(await q.publish.getJobCountByTypes('waiting-children')).toBe(1);
    expect(await q.build.getJobCountByTypes('waiting', 'prioritized')).toBe(2);

    // It fails for good (the registry was down past its retries).
    let fail = true;
    h.workers(prefix, {
      build: async ({ arch }) => {
        if (fail) throw new PermanentError(`pushing ${arch}: registry refused the connection`);
        return noopBuildResult(arch);
      },
      publish: async (_d, bs) => fakePublish(bs.map((b) => b.arch)),
    });
    const firstPublish = await Job.fromId(q.publish, first.flows[0]!.publishJobId);
    await expect(firstPublish!.waitUntilFinished(q.events, 20_000)).rejects.toThrow();
    expect(await q.publish.getJobState(first.flows[0]!.publishJobId)).toBe('failed');

    // Planned again: a new attempt with new ids; planned again while it is pending: the same.
    fail = false;
    const [second, secondAgain] = await Promise.all([
      plan(prefix, [request]),
      plan(prefix, [request]),
    ]);
    expect(second.attempts).toEqual([1]);
    expect(secondAgain.flows).toEqual(second.flows);
    expect(second.flows[0]!.publishJobId).not.toBe(first.flows[0]!.publishJobId);
    expect(
      second.flows[0]!.buildJobIds.filter((id) => first.flows[0]!.buildJobIds.includes(id)),
    ).toEqual([]);
    const job = await Job.fromId(q.publish, second.flows[0]!.publishJobId);
    await job!.waitUntilFinished(q.events, 20_000);
    const finishedOn = (await Job.fromId(q.publish, second.flows[0]!.publishJobId))!.finishedOn!;

    // Completed: a plan that read the registry before it finished collapses into it (the image
    // may be there already); one that read it after, and still finds the image missing, has
    // lost it (a registry restored from backup): a new attempt.
    expect((await plan(prefix, [request], finishedOn - 1)).attempts).toEqual([1]);
    const third = await plan(prefix, [request], finishedOn + 1);
    expect(third.attempts).toEqual([2]);
    await (await Job.fromId(q.publish, third.flows[0]!.publishJobId))!.waitUntilFinished(
      q.events,
      20_000,
    );
    expect(await q.publish.getJobCountByTypes('completed', 'failed')).toBe(3);
  });

  it('after Redis lost the jobs and the hint, the walk starts again at the first attempt', async () => {
    const prefix = uniqueName('attempts');
    const q = h.queues(prefix);
    const request = buildRequest();
    h.workers(prefix, {
      build: async ({ arch }) => {
        throw new PermanentError(`building ${arch}: broken`);
      },
      publish: async (_d, bs) => fakePublish(bs.map((b) => b.arch)),
    });
    const first = await plan(prefix, [request]);
    await expect(
      (await Job.fromId(q.publish, first.flows[0]!.publishJobId))!.waitUntilFinished(
        q.events,
        20_000,
      ),
    ).rejects.toThrow();
    expect((await plan(prefix, [request])).attempts).toEqual([1]);
    // What a FLUSHDB does to this prefix's keys.
    await q.publish.obliterate({ force: true });
    await q.build.obliterate({ force: true });
    await redis.del(`${prefix}:attempt:${requestKey(request)}`);
    expect(await attemptsFor(redis, prefix, [request], { observedAt: Date.now() })).toEqual([0]);
  });
});
