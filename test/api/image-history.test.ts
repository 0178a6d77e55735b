import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { redisCatalog } from '../../src/api/catalog-reader.ts';
import { catalogPageRoutes } from '../../src/api/routes/catalog-pages.ts';
import { imageHistoryRoutes } from '../../src/api/routes/image-history.ts';
import { loadConfig } from '../../src/config.ts';
import { clearCatalog, recordPublished } from '../../src/catalog/store.ts';
import type { RedisClient } from '../../src/queue/connection.ts';
import { sampleRecord } from '../catalog/fixtures.ts';
import { testRedis, testRegistryHost, uniqueName } from '../helpers/stack.ts';

/*
 * GET /api/images/:name/history over the real Redis catalog: three publishes of `app` move
 * `latest` three times, its `-dev` variant (same repository) moves `latest-dev` once; the route
 * lists each floating tag's digests in publish order, the variant beside the main image.
 */
let redis: RedisClient;
const config = loadConfig({
  KILN_QUEUE_PREFIX: uniqueName('history'),
  KILN_REGISTRY: `${testRegistryHost()}/kiln`,
});

const publish = (recipe: string, version: string, epoch: number, tags: string[], at: string) =>
  recordPublished(
    redis,
    config.queuePrefix,
    sampleRecord({ recipe, repository: 'app', version, epoch, tags, publishedAt: at }),
  );

beforeAll(async () => {
  redis = testRedis();
  await publish(
    'app',
    '1.0.0',
    0,
    ['1.0.0-r0', '1.0.0', '1.0', '1', 'latest'],
    '2026-11-01T10:00:00Z',
  );
  await publish(
    'app-dev',
    '1.0.0',
    0,
    ['1.0.0-r0-dev', '1.0.0-dev', 'latest-dev'],
    '2026-11-01T10:05:00Z',
  );
  await publish(
    'app',
    '1.0.0',
    1,
    ['1.0.0-r1', '1.0.0', '1.0', '1', 'latest'],
    '2026-11-20T10:00:00Z',
  );
  await publish(
    'app',
    '1.1.0',
    0,
    ['1.1.0-r0', '1.1.0', '1.1', '1', 'latest'],
    '2026-11-30T10:00:00Z',
  );
});

afterAll(async () => {
  await clearCatalog(redis, config.queuePrefix);
  await redis.quit();
});

describe('the image page', () => {
  it('shows the variant beside the image and the kiln diff command between consecutive epochs', async () => {
    const app = Fastify();
    await app.register(catalogPageRoutes, {
      config,
      catalog: redisCatalog(redis, config.queuePrefix),
    });
    const page = (await app.inject({ url: '/images/app' })).body;
    expect(page).toContain('<section id="variants">');
    expect(page).toContain('href="/images/app-dev"');
    expect(page).toContain('latest-dev');
    const ref = `${config.registry}/app`;
    const r0 = sampleRecord({
      recipe: 'app',
      repository: 'app',
      version: '1.0.0',
      epoch: 0,
    }).digest;
    const r1 = sampleRecord({
      recipe: 'app',
      repository: 'app',
      version: '1.0.0',
      epoch: 1,
    }).digest;
    expect(page).toContain(`kiln diff ${ref}@${r0} ${ref}@${r1}`);
    // 1.1.0-r0 is a new upstream version, not a nano update of 1.0.0: no diff offered for it.
    const r110 = sampleRecord({
      recipe: 'app',
      repository: 'app',
      version: '1.1.0',
      epoch: 0,
    }).digest;
    expect(page).not.toContain(`@${r1} ${ref}@${r110}`);
    const devPage = (await app.inject({ url: '/images/app-dev' })).body;
    expect(devPage).toContain('href="/images/app"');
    await app.close();
  });
});

describe('GET /api/images/:name/history', () => {
  it("lists every digest a floating tag pointed at, oldest first, the variant's beside the main's", async () => {
    const app = Fastify();
    await app.register(imageHistoryRoutes, {
      config,
      catalog: redisCatalog(redis, config.queuePrefix),
    });
    const res = await app.inject({ url: '/api/images/app/history' });
    expect(res.statusCode).toBe(200);
    const body = res.json<{
      images: string[];
      tags: {
        image: string;
        tag: string;
        points: { digest: string; version: string; epoch: number; at: string }[];
      }[];
    }>();
    expect(body.images).toEqual(['app', 'app-dev']);
    const points = (tag: string) =>
      body.tags
        .find((t) => t.tag === tag)
        ?.points.map((p) => `${p.version}-r${p.epoch}@${p.at.slice(0, 10)}`);
    expect(points('latest')).toEqual([
      '1.0.0-r0@2026-11-01',
      '1.0.0-r1@2026-11-20',
      '1.1.0-r0@2026-11-30',
    ]);
    expect(points('1.0')).toEqual(['1.0.0-r0@2026-11-01', '1.0.0-r1@2026-11-20']);
    expect(points('latest-dev')).toEqual(['1.0.0-r0@2026-11-01']);
    expect(body.tags.find((t) => t.tag === 'latest-dev')?.image).toBe('app-dev');
    const latest = body.tags.find((t) => t.tag === 'latest')?.points ?? [];
    expect(new Set(latest.map((p) => p.digest)).size).toBe(3);
    // Exact tags never move: they are no history.
    expect(body.tags.map((t) => t.tag)).not.toContain('1.0.0-r0');
    expect(body.tags.map((t) => t.tag)).not.toContain('1.0.0-r0-dev');
    expect((await app.inject({ url: '/api/images/nope/history' })).statusCode).toBe(404);
    await app.close();
  });
});
