import { createPublicKey } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hostArch } from '../../src/build/host-arch.ts';
import { verifyImage } from '../../src/sign/verify.ts';
import { RegistryClient } from '../../src/oci/registry-client.ts';
import { redisOptions } from '../../src/queue/connection.ts';
import { QueueName } from '../../src/queue/names.ts';
import { makeDebianRepo, type DebianTestRepo } from '../helpers/debian-repo.ts';
import { testRedisUrl, testRegistryHost } from '../helpers/stack.ts';
import { envtoolPackages as repoPackages, envtoolVersion } from '../helpers/envtool.ts';
import { imageTags, startFleet, type Fleet } from '../reconcile/fleet.ts';

/*
 * The real processors in their sandbox, end to end: the watcher plans a recipe of a local signed
 * Debian repository, the build job runs workers/build.ts in a child process of the worker (the
 * debian builder, its tests, the push by digest) and the publish job workers/publish.ts in another
 * (index, signature, attestations, tags); the image verifies with the fleet's key.
 */

describe.skipIf(hostArch() !== 'amd64')('the real processors in child processes', () => {
  let repo: DebianTestRepo;
  let fleet: Fleet;

  beforeAll(async () => {
    repo = await makeDebianRepo(await repoPackages(), { suites: ['stable'], archs: ['amd64'] });
    fleet = await startFleet({
      redisUrl: testRedisUrl(),
      registryHost: testRegistryHost(),
      repo,
      sandboxed: true,
    });
  }, 120_000);
  afterAll(async () => {
    await fleet?.close();
    await repo?.close();
  });

  it('builds and publishes through workers/build.ts and workers/publish.ts', async () => {
    const check = await fleet.up.checkNow('envtool');
    expect(check.ok).toBe(true);
    const [job] = await fleet.publish.getJobs([
      'waiting-children',
      'waiting',
      'active',
      'completed',
    ]);
    expect(job).toBeDefined();
    const result = await fleet.published(job?.id ?? '');
    const repository = `${fleet.namespace}/envtool`;
    expect(await imageTags(testRegistryHost(), repository)).toContain(`${envtoolVersion}-r0`);

    // Both jobs ran in children of this process (the worker), each its own child.
    const pids = async (queue: Queue, id: string) =>
      (await queue.getJobLogs(id)).logs.flatMap(
        (l) =>
          new RegExp(`^running in child process (\\d+) of worker ${process.pid}$`).exec(l)?.[1] ??
          [],
      );
    const build = new Queue(QueueName.build, {
      connection: redisOptions(testRedisUrl()),
      prefix: fleet.prefix,
    });
    try {
      const [buildJob] = await build.getJobs(['completed']);
      const buildPids = await pids(build, buildJob?.id ?? '');
      const publishPids = await pids(fleet.publish, job?.id ?? '');
      expect(buildPids).toHaveLength(1);
      expect(publishPids).toHaveLength(1);
      expect(buildPids[0]).not.toBe(String(process.pid));
      expect(publishPids[0]).not.toBe(buildPids[0]);
    } finally {
      await build.close();
    }

    const keyFile = fleet.env.KILN_SIGNING_KEY ?? '';
    const pair = await readFile(keyFile, 'utf8');
    const publicKey = createPublicKey(pair);
    const report = await verifyImage(
      new RegistryClient({ host: testRegistryHost(), insecure: true }),
      { host: testRegistryHost(), repository, tag: `${envtoolVersion}-r0` },
      publicKey,
    );
    expect(report.digest).toBe(result.digest);
  }, 600_000);
});
