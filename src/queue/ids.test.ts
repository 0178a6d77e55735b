import { Queue } from 'bullmq';
import { afterEach, describe, expect, it } from 'vitest';
import { buildRequest } from '../../test/helpers/requests.ts';
import { testRedisUrl, uniqueName } from '../../test/helpers/stack.ts';
import { redisOptions } from './connection.ts';
import { createFlowProducer, enqueueBuild, enqueueBuilds } from './enqueue.ts';
import { buildJobId, publishJobId } from './ids.ts';
import { QueueName } from './names.ts';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const digestA = `sha256:${'a'.repeat(64)}`;
const digestB = `sha256:${'b'.repeat(64)}`;

describe('job ids', () => {
  it('differ when only the inputs digest differs, and repeat for the same inputs', () => {
    expect(buildJobId('demo', '1.2.3', digestA, 'amd64')).not.toBe(
      buildJobId('demo', '1.2.3', digestB, 'amd64'),
    );
    expect(publishJobId('demo', '1.2.3', digestA)).not.toBe(publishJobId('demo', '1.2.3', digestB));
    expect(buildJobId('demo', '1.2.3', digestA, 'amd64')).toBe(
      buildJobId('demo', '1.2.3', digestA, 'amd64'),
    );
    expect(publishJobId('demo', '1.2.3', digestA)).toBe(publishJobId('demo', '1.2.3', digestA));
  });

  it('let a nano update (same version, new inputs digest) enqueue its own flow beside the old one', async () => {
    const prefix = uniqueName('ids');
    const connection = redisOptions(testRedisUrl());
    const flows = createFlowProducer(connection, prefix);
    const publish = new Queue(QueueName.publish, { connection, prefix });
    const build = new Queue(QueueName.build, { connection, prefix });
    cleanups.push(
      () => flows.close(),
      async () => {
        await publish.obliterate({ force: true });
        await build.obliterate({ force: true });
        await Promise.all([publish.close(), build.close()]);
      },
    );
    const archs = ['amd64', 'arm64'];
    const r0 = buildRequest({ version: '1.2.3', epoch: 0, inputsDigest: digestA, archs });
    const r1 = { ...r0, epoch: 1, inputsDigest: digestB, reason: 'lockfile changed: libc6' };

    const first = await enqueueBuild(flows, r0);
    // A replay of the same request (another watcher, a webhook) adds nothing.
    await enqueueBuilds(flows, [r0]);
    const second = await enqueueBuild(flows, r1);

    expect(second.publishJobId).not.toBe(first.publishJobId);
    expect(second.buildJobIds.filter((id) => first.buildJobIds.includes(id))).toEqual([]);
    const published = await publish.getJobs(['waiting', 'waiting-children', 'delayed', 'paused']);
    expect(published.map((j) => j.data.request.epoch).sort()).toEqual([0, 1]);
    expect(published.map((j) => j.name).sort()).toEqual([
      'publish demo 1.2.3-r0',
      'publish demo 1.2.3-r1',
    ]);
    const builds = await build.getJobs(['waiting', 'prioritized', 'delayed', 'paused']);
    expect(builds.map((j) => j.name).sort()).toEqual([
      'build demo 1.2.3-r0 amd64',
      'build demo 1.2.3-r0 arm64',
      'build demo 1.2.3-r1 amd64',
      'build demo 1.2.3-r1 arm64',
    ]);
  });
});
