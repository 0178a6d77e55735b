import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { redisCatalog } from '../../src/api/catalog-reader.ts';
import { createMetrics } from '../../src/api/metrics.ts';
import { hostArch } from '../../src/build/host-arch.ts';
import { getImage, tagHistory } from '../../src/catalog/store.ts';
import { createLogger } from '../../src/log.ts';
import { publishJobId } from '../../src/queue/ids.ts';
import { startRedis, type LocalService } from '../../src/local-services/redis.ts';
import { startRegistry, type LocalRegistry } from '../../src/local-services/registry.ts';
import { lastReconcile } from '../../src/watch/reconcile-signal.ts';
import type { DebianTestRepo } from '../helpers/debian-repo.ts';
import { envtoolVersion, makeEnvtoolRepo } from '../helpers/envtool.ts';
import {
  holdFirstBuild,
  imageTags,
  reconcileIntervalMs,
  signatureLayers,
  startFleet,
  tagDigest,
  type Fleet,
} from './fleet.ts';

/*
 * Reconcile, don't remember: after a loss that no upstream change will ever report (a registry
 * outage longer than the retries, a FLUSHDB mid-run, a registry restored from an empty backup, a
 * catalog lost with Redis), the next reconcile cycle (KILN_RECONCILE_INTERVAL, moved here by hand)
 * plans every recipe against the registry again with the watcher's cached releases, and the image
 * is published, once. This file has its own Redis and registry: it flushes one and swaps the other.
 */

const version = envtoolVersion;
const tags = [`${version}-r0`, version, '1.4', '1', 'latest'].sort();
/** `X.Y.Z-r0-<yyyymmddhhmm>`: the immutable build tag every publish also sets (src/publish/). */
const buildTag = new RegExp(`^${version.replace(/[.+]/g, '\\$&')}-r0-\\d{12}$`);

/** The moving and exact tags; build tags (test/publish/variants-build-tags.test.ts) set aside. */
function expectTags(found: string[]): void {
  expect(found.filter((t) => !buildTag.test(t)).sort()).toEqual(tags);
}

describe.skipIf(hostArch() !== 'amd64')('reconcile after losses', () => {
  let dir: string;
  let repo: DebianTestRepo;
  let redis: LocalService;
  let registry: LocalRegistry;
  let client: Redis;
  let fleet: Fleet | undefined;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'kiln-reconcile-stack-'));
    [repo, redis, registry] = await Promise.all([
      makeEnvtoolRepo(),
      startRedis({ dataDir: path.join(dir, 'redis') }),
      startRegistry({ dataDir: path.join(dir, 'registry-a') }),
    ]);
    client = new Redis(redis.url, { maxRetriesPerRequest: null });
  });
  afterEach(async () => {
    await fleet?.close();
    fleet = undefined;
  });
  afterAll(async () => {
    client?.disconnect();
    await Promise.all([repo?.close(), redis?.stop(), registry?.stop()]);
    await rm(dir, { recursive: true, force: true });
  });

  /** Restarts the registry on its port, with the same storage or another (a restored backup). */
  async function restartRegistry(storage: string): Promise<void> {
    await registry.stop();
    registry = await startRegistry({ dataDir: path.join(dir, storage), port: registry.port });
  }

  async function reconcileNow(f: Fleet): Promise<void> {
    f.clock.advance(reconcileIntervalMs);
    await f.up.reconcile.runNow();
  }

  it('publishes after an outage longer than the retries, and again after the registry is restored from an empty backup, with no upstream change', async () => {
    await registry.stop();
    const f = (fleet = await startFleet({
      redisUrl: redis.url,
      registryHost: registry.host,
      repo,
    }));
    const repository = `${f.namespace}/envtool`;
    // The start-up cycle ran by itself (nothing checked yet, so nothing planned).
    await vi.waitFor(async () =>
      expect(await lastReconcile(f.ctx.redis, f.prefix)).toMatchObject({
        finishedAt: f.clock.now(),
        enqueued: 0,
      }),
    );

    // The upstream check plans the image; every attempt to push fails: the publish fails for good.
    const check = await f.up.checkNow('envtool');
    expect(check.ok).toBe(true);
    const [failed] = await f.publish.getJobs(['waiting-children', 'waiting', 'active', 'failed']);
    expect(failed).toBeDefined();
    const request = failed!.data.request;
    await expect(f.published(failed!.id ?? '')).rejects.toThrow();
    expect(await f.publish.getJobState(failed!.id ?? '')).toBe('failed');
    const checkedAt = f.up.status()[0]?.lastCheckedAt;
    const upstreamRequests = repo.requests.filter((r) => r.endsWith('/InRelease')).length;

    // The registry is back. No upstream changed: only the reconcile can bring the image.
    await restartRegistry('registry-a');
    await reconcileNow(f);
    const retried = publishJobId(request.recipe, request.version, request.inputsDigest, 1);
    const result = await f.published(retried);
    expectTags(await imageTags(registry.host, repository));
    for (const tag of tags)
      expect(await tagDigest(registry.host, repository, tag)).toBe(result.digest);
    expect(await signatureLayers(registry.host, repository, result.digest)).toBe(1);
    // The reconcile planned from the watcher's cache: no upstream check.
    expect(f.up.status()[0]?.lastCheckedAt).toBe(checkedAt);
    expect(f.builds.length).toBeGreaterThanOrEqual(2);

    // /metrics says when reconcile last ran (the hand clock's time).
    expect((await lastReconcile(f.ctx.redis, f.prefix))?.finishedAt).toBe(f.clock.now());
    const metrics = createMetrics({
      redis: f.ctx.redis,
      prefix: f.prefix,
      catalog: redisCatalog(f.ctx.redis, f.prefix),
      queues: [],
      staleAfterMs: 3_600_000,
      log: createLogger({ level: 'silent' }),
    });
    expect(await metrics.render()).toContain(
      `kiln_reconcile_last_run_timestamp_seconds ${f.clock.now() / 1000}`,
    );
    await metrics.close();

    // Restored from an empty backup: the image is gone, its job long completed.
    await restartRegistry('registry-empty-backup');
    expect(await imageTags(registry.host, repository)).toEqual([]);
    await reconcileNow(f);
    const again = await f.published(
      publishJobId(request.recipe, request.version, request.inputsDigest, 2),
    );
    // Reproducible: the very same image, signed once, all tags on it.
    expect(again.digest).toBe(result.digest);
    expectTags(await imageTags(registry.host, repository));
    for (const tag of tags)
      expect(await tagDigest(registry.host, repository, tag)).toBe(result.digest);
    expect(await signatureLayers(registry.host, repository, result.digest)).toBe(1);
    // The catalog recorded the same image twice: one history entry per tag.
    const history = await tagHistory(f.ctx.redis, f.prefix, 'envtool');
    expectTags(history.map((e) => e.tag));
    expect(repo.requests.filter((r) => r.endsWith('/InRelease')).length).toBeGreaterThanOrEqual(
      upstreamRequests,
    );
    expect(f.up.status()[0]?.lastCheckedAt).toBe(checkedAt);
  }, 900_000);

  it('after a FLUSHDB mid-build, the next reconcile re-queues and publishes once; after later losses it restores the catalog, by itself and with kiln catalog rebuild', async () => {
    let hold: ReturnType<typeof holdFirstBuild>['gate'] | undefined;
    const f = (fleet = await startFleet({
      redisUrl: redis.url,
      registryHost: registry.host,
      repo,
      processors: (real) => {
        const held = holdFirstBuild(real);
        hold = held.gate;
        return held.processors;
      },
    }));
    const repository = `${f.namespace}/envtool`;
    await f.up.reconcile.runNow();
    expect((await f.up.checkNow('envtool')).ok).toBe(true);

    // The build job is running when Redis loses everything; then the build finishes.
    await hold!.started;
    await client.flushdb();
    hold!.release();
    await hold!.ended;
    const request = hold!.requests[0]!;
    const id = publishJobId(request.recipe, request.version, request.inputsDigest);
    expect(await f.publish.getJobState(id)).toBe('unknown');
    expect(await imageTags(registry.host, repository)).toEqual([]);

    // Nothing in Redis remembers the image; the reconcile derives it again.
    await reconcileNow(f);
    const result = await f.published(id);
    expectTags(await imageTags(registry.host, repository));
    for (const tag of tags)
      expect(await tagDigest(registry.host, repository, tag)).toBe(result.digest);
    expect(await signatureLayers(registry.host, repository, result.digest)).toBe(1);
    expect(f.builds).toHaveLength(2);

    // Redis is flushed again after the publish: the next reconcile queues nothing (the registry
    // has the image) and rebuilds the catalog from the registry by itself.
    await client.flushdb();
    expect(
      await getImage(f.ctx.redis, f.prefix, 'envtool', { staleAfterMs: 3_600_000 }),
    ).toBeUndefined();
    await reconcileNow(f);
    expect((await lastReconcile(f.ctx.redis, f.prefix))?.enqueued).toBe(0);
    expect(await f.publish.getJobCounts()).toMatchObject({
      waiting: 0,
      active: 0,
      'waiting-children': 0,
    });
    const restored = await getImage(f.ctx.redis, f.prefix, 'envtool', { staleAfterMs: 3_600_000 });
    expect(restored?.latest).toMatchObject({ digest: result.digest, signed: true, version });
    expect(f.builds).toHaveLength(2);

    // And once more, restored by `kiln catalog rebuild` as a process.
    await client.flushdb();
    const run = await execa('node', ['bin/kiln.js', 'catalog', 'rebuild', '--json'], {
      env: { ...f.env, KILN_LOG_LEVEL: 'warn' },
      reject: false,
    });
    expect(run.exitCode, run.stderr).toBe(0);
    const printed = JSON.parse(run.stdout) as { image: string; digest: string; tags: string[] }[];
    expect(printed).toEqual([expect.objectContaining({ image: 'envtool', digest: result.digest })]);
    expectTags(printed[0]?.tags ?? []);
    const rebuilt = await getImage(f.ctx.redis, f.prefix, 'envtool', { staleAfterMs: 3_600_000 });
    expect(rebuilt?.latest).toMatchObject({ digest: result.digest, signed: true, version });
    expectTags(rebuilt?.tags.map((t) => t.tag) ?? []);
  }, 900_000);
});
