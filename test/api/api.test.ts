import { Queue, Worker, UnrecoverableError } from 'bullmq';
import type { FastifyInstance } from 'fastify';
import type { RedisClient } from '../../src/queue/connection.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiServer } from '../../src/api/server.ts';
import { recordUpstreamCheck, recordRateLimit } from '../../src/catalog/signals.ts';
import { clearCatalog, recordPublished, recordUpstreamSeen } from '../../src/catalog/store.ts';
import { loadConfig, type Config } from '../../src/config.ts';
import { createLogger } from '../../src/log.ts';
import { sampleRecord } from '../catalog/fixtures.ts';
import { testRedis, testRegistryHost, uniqueName } from '../helpers/stack.ts';
import { parsePrometheusText, sampleValue } from './prom-text.ts';

const TOKEN = 'test-api-token-0123456789';
const log = createLogger({ level: 'silent' });
let redis: RedisClient;
let config: Config;
let queues: Queue[];
let app: FastifyInstance;

beforeAll(async () => {
  redis = testRedis();
  const prefix = uniqueName('api');
  config = loadConfig({
    KILN_QUEUE_PREFIX: prefix,
    KILN_REGISTRY: `${testRegistryHost()}/kiln`,
    KILN_API_TOKEN: TOKEN,
    KILN_STALE_AFTER: '6h',
  });
  queues = ['build', 'publish'].map((name) => new Queue(name, { connection: redis, prefix }));
  app = await createApiServer({ config, redis, queues, log });

  const now = Date.now();
  const ago = (h: number) => new Date(now - h * 3_600_000).toISOString();
  await recordPublished(
    redis,
    prefix,
    sampleRecord({
      recipe: 'fresh-app',
      version: '2.0.0',
      upstream: { releasedAt: ago(10) },
      builtAt: ago(9.5),
      publishedAt: ago(9),
    }),
  );
  await recordPublished(
    redis,
    prefix,
    sampleRecord({
      recipe: 'old-app',
      version: '1.0.0',
      description: 'Has <script>alert(1)</script> in its description',
      upstream: { releasedAt: ago(100) },
      builtAt: ago(97),
      publishedAt: ago(96),
    }),
  );
  await recordUpstreamSeen(redis, prefix, 'old-app', '1.1.0', ago(24)); // waiting 24 h > 6 h: stale
  await recordUpstreamCheck(redis, prefix, 'github', 'ok');
  await recordUpstreamCheck(redis, prefix, 'github', 'ok');
  await recordUpstreamCheck(redis, prefix, 'npm', 'error');
  await recordRateLimit(redis, prefix, 'github', { remaining: 4321, limit: 5000 });
});

afterAll(async () => {
  await app.close();
  await Promise.all(
    queues.map(async (q) => {
      await q.obliterate({ force: true });
      await q.close();
    }),
  );
  await clearCatalog(redis, config.queuePrefix);
  await redis.quit();
});

describe('health', () => {
  it('/healthz answers while the process is up', async () => {
    const res = await app.inject('/healthz');
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ status: 'ok' });
  });

  it('/readyz is ready with the real Redis and registry', async () => {
    const res = await app.inject('/readyz');
    expect(res.json()).toMatchObject({
      ready: true,
      checks: { redis: { ok: true }, registry: { ok: true } },
    });
    expect(res.statusCode).toBe(200);
  });

  it('/readyz is 503 naming the registry when the registry does not answer', async () => {
    const other = await createApiServer({
      config: { ...config, registry: '127.0.0.1:1/kiln' },
      redis,
      log,
    });
    const res = await other.inject('/readyz');
    await other.close();
    expect(res.statusCode).toBe(503);
    expect(res.json()).toMatchObject({
      ready: false,
      checks: { redis: { ok: true }, registry: { ok: false } },
    });
  });
});

describe('JSON API', () => {
  it('/api/images lists images with freshness, staleness and the fleet median/p95', async () => {
    const body = (await app.inject('/api/images')).json();
    expect(body.images.map((i: { name: string }) => i.name).sort()).toEqual([
      'fresh-app',
      'old-app',
    ]);
    const old = body.images.find((i: { name: string }) => i.name === 'old-app');
    expect(old).toMatchObject({
      latestVersion: '1.0.0',
      reference: `${testRegistryHost()}/kiln/old-app`,
      freshnessSeconds: 4 * 3600,
      stale: true,
      pendingUpstream: { version: '1.1.0' },
      signed: true,
      sbom: true,
      tags: ['1.0.0', '1.0.0-r0', 'latest'],
    });
    expect(body.images.find((i: { name: string }) => i.name === 'fresh-app')).toMatchObject({
      freshnessSeconds: 3600,
      stale: false,
    });
    expect(body.freshness).toEqual({
      images: 2,
      medianSeconds: 2.5 * 3600,
      p95Seconds: Math.round(3.85 * 3600),
    });
  });

  it('/api/images/:name has versions, inputs digest, SBOM packages, commands and tag history', async () => {
    const res = await app.inject('/api/images/old-app');
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body.inputsDigest).toMatch(/^sha256:[a-f0-9]{64}$/);
    expect(body.packages.map((p: { name: string }) => p.name)).toEqual([
      'libc6',
      'ca-certificates',
    ]);
    expect(body.versions).toHaveLength(1);
    expect(body.upstream.releasedAt).toBeTruthy();
    expect(body.commands.cosignVerify).toBe(
      `cosign verify --key cosign.pub --insecure-ignore-tlog=true ${testRegistryHost()}/kiln/old-app@${body.digest}`,
    );
    expect(body.history.map((e: { tag: string }) => e.tag).sort()).toEqual([
      '1.0.0',
      '1.0.0-r0',
      'latest',
    ]);
    expect((await app.inject('/api/images/nope')).statusCode).toBe(404);
    expect((await app.inject('/api/images/..%2F..')).statusCode).toBe(404);
  });

  it('shows a new publish at once: cached lists follow the catalog revision', async () => {
    const prefix = uniqueName('api-cache');
    const other = await createApiServer({ config: { ...config, queuePrefix: prefix }, redis, log });
    try {
      const names = async () =>
        (await other.inject('/api/images')).json().images.map((i: { name: string }) => i.name);
      expect(await names()).toEqual([]);
      await recordPublished(redis, prefix, sampleRecord({ recipe: 'first' }));
      expect(await names()).toEqual(['first']);
      expect((await other.inject('/')).body).toContain('first');
      await recordPublished(
        redis,
        prefix,
        sampleRecord({ recipe: 'second', publishedAt: new Date().toISOString() }),
      );
      expect(await names()).toEqual(['second', 'first']);
      expect((await other.inject('/')).body).toContain('second');
    } finally {
      await other.close();
      await clearCatalog(redis, prefix);
    }
  });

  it('/api/jobs shows job states and failure reasons', async () => {
    const prefix = config.queuePrefix;
    const request = { recipe: 'old-app', version: '1.1.0' };
    await queues[0]!.add(
      'build old-app 1.1.0 amd64',
      { request, arch: 'amd64' },
      { jobId: 'waiting-1' },
    );
    const worker = new Worker(
      'publish',
      async (job) => {
        if (job.data.fail) throw new UnrecoverableError('checksum mismatch for old-app 1.1.0');
        return 'ok';
      },
      { connection: testRedis(), prefix },
    );
    const publish = queues[1]!;
    const done = new Promise<void>((resolve) => {
      let n = 0;
      const step = () => {
        if (++n === 2) resolve();
      };
      worker.on('completed', step);
      worker.on('failed', step);
    });
    await publish.add('publish ok', { request }, { jobId: 'pub-ok' });
    await publish.add('publish bad', { request, fail: true }, { jobId: 'pub-bad', attempts: 1 });
    await done;
    await worker.close();

    const body = (await app.inject('/api/jobs')).json();
    expect(body.queues).toContainEqual({
      name: 'build',
      counts: expect.objectContaining({ waiting: 1 }),
    });
    expect(body.jobs).toContainEqual(
      expect.objectContaining({
        id: 'waiting-1',
        queue: 'build',
        state: 'waiting',
        recipe: 'old-app',
        arch: 'amd64',
      }),
    );
    expect(body.jobs).toContainEqual(
      expect.objectContaining({
        id: 'pub-bad',
        state: 'failed',
        failedReason: 'checksum mismatch for old-app 1.1.0',
      }),
    );
    const failedOnly = (await app.inject('/api/jobs?state=failed')).json();
    expect(failedOnly.jobs.map((j: { id: string }) => j.id)).toEqual(['pub-bad']);
    expect((await app.inject('/api/jobs?state=bogus')).statusCode).toBe(400);

    // The job-duration histogram is fed by queue events: wait until both outcomes arrived.
    let families = parsePrometheusText((await app.inject('/metrics')).body);
    for (
      let i = 0;
      i < 100 &&
      sampleValue(families, 'kiln_job_duration_seconds_count', {
        queue: 'publish',
        outcome: 'failed',
      }) === undefined;
      i++
    ) {
      await new Promise((r) => setTimeout(r, 50));
      families = parsePrometheusText((await app.inject('/metrics')).body);
    }
    expect(families.get('kiln_job_duration_seconds')?.type).toBe('histogram');
    expect(
      sampleValue(families, 'kiln_job_duration_seconds_count', {
        queue: 'publish',
        outcome: 'completed',
      }),
    ).toBe(1);
    expect(
      sampleValue(families, 'kiln_job_duration_seconds_count', {
        queue: 'publish',
        outcome: 'failed',
      }),
    ).toBe(1);
    expect(sampleValue(families, 'kiln_jobs', { queue: 'publish', state: 'failed' })).toBe(1);
    expect(sampleValue(families, 'kiln_jobs', { queue: 'publish', state: 'completed' })).toBe(1);
    expect(sampleValue(families, 'kiln_queue_depth', { queue: 'build' })).toBe(1);
  });
});

describe('/metrics', () => {
  it('parses as Prometheus text with freshness, staleness, checks and rate limits', async () => {
    const res = await app.inject('/metrics');
    expect(res.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    const families = parsePrometheusText(res.body);
    expect(sampleValue(families, 'kiln_images')).toBe(2);
    expect(sampleValue(families, 'kiln_image_freshness_seconds', { image: 'old-app' })).toBe(
      4 * 3600,
    );
    expect(sampleValue(families, 'kiln_image_freshness_seconds', { image: 'fresh-app' })).toBe(
      3600,
    );
    expect(sampleValue(families, 'kiln_freshness_seconds', { quantile: '0.5' })).toBe(2.5 * 3600);
    expect(sampleValue(families, 'kiln_freshness_seconds', { quantile: '0.95' })).toBeCloseTo(
      3.85 * 3600,
    );
    expect(sampleValue(families, 'kiln_image_stale', { image: 'old-app' })).toBe(1);
    expect(sampleValue(families, 'kiln_image_stale', { image: 'fresh-app' })).toBe(0);
    expect(
      sampleValue(families, 'kiln_image_pending_release_seconds', { image: 'old-app' }),
    ).toBeGreaterThanOrEqual(24 * 3600);
    expect(families.get('kiln_upstream_checks_total')?.type).toBe('counter');
    expect(
      sampleValue(families, 'kiln_upstream_checks_total', { source: 'github', outcome: 'ok' }),
    ).toBe(2);
    expect(
      sampleValue(families, 'kiln_upstream_checks_total', { source: 'npm', outcome: 'error' }),
    ).toBe(1);
    expect(sampleValue(families, 'kiln_upstream_rate_limit_remaining', { source: 'github' })).toBe(
      4321,
    );
    // A second scrape reports the same counters (mirrored from Redis, not added twice).
    const again = parsePrometheusText((await app.inject('/metrics')).body);
    expect(
      sampleValue(again, 'kiln_upstream_checks_total', { source: 'github', outcome: 'ok' }),
    ).toBe(2);
  });
});

describe('/queues dashboard', () => {
  it('refuses without the token', async () => {
    const res = await app.inject('/queues');
    expect(res.statusCode).toBe(401);
    expect(
      (await app.inject({ url: '/queues/api/queues', headers: { authorization: 'Bearer wrong' } }))
        .statusCode,
    ).toBe(401);
    expect((await app.inject('/queues?token=wrong')).statusCode).toBe(401);
  });

  it('lets a bearer token in', async () => {
    const res = await app.inject({
      url: '/queues/api/queues',
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    expect(res.statusCode).toBe(200);
    expect(JSON.stringify(res.json())).toContain('publish');
  });

  it('turns ?token= into a session cookie and drops the token from the address', async () => {
    const res = await app.inject(`/queues?token=${TOKEN}`);
    expect(res.statusCode).toBe(303);
    expect(res.headers.location).toBe('/queues');
    const cookie = String(res.headers['set-cookie']).split(';')[0]!;
    expect(cookie).not.toContain(TOKEN);
    const page = await app.inject({ url: '/queues', headers: { cookie } });
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('<html');
    expect((await app.inject({ url: '/queues/api/queues', headers: { cookie } })).statusCode).toBe(
      200,
    );
  });

  it('is closed when no token is configured', async () => {
    const closed = await createApiServer({
      config: { ...config, apiToken: undefined },
      redis,
      queues,
      log,
    });
    const res = await closed.inject(`/queues?token=${TOKEN}`);
    await closed.close();
    expect(res.statusCode).toBe(403);
  });
});
