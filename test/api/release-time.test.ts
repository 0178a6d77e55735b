import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiServer } from '../../src/api/server.ts';
import { clearCatalog, recordPublished } from '../../src/catalog/store.ts';
import { loadConfig, type Config } from '../../src/config.ts';
import { createLogger } from '../../src/log.ts';
import type { RedisClient } from '../../src/queue/connection.ts';
import { sampleRecord } from '../catalog/fixtures.ts';
import { testRedis, testRegistryHost, uniqueName } from '../helpers/stack.ts';

/* The catalog says when an image's upstream release time is only when kiln first saw it. */

let redis: RedisClient;
let config: Config;
let app: FastifyInstance;

beforeAll(async () => {
  redis = testRedis();
  config = loadConfig({
    KILN_QUEUE_PREFIX: uniqueName('release-time'),
    KILN_REGISTRY: `${testRegistryHost()}/kiln`,
  });
  app = await createApiServer({
    config,
    redis,
    queues: [],
    log: createLogger({ level: 'silent' }),
  });
  const at = (iso: string) => new Date(iso).toISOString();
  await recordPublished(
    redis,
    config.queuePrefix,
    sampleRecord({
      recipe: 'python',
      version: '3.13.5-1',
      upstream: { releasedAt: at('2026-11-30T10:00:00Z'), releasedAtSource: 'first-seen' },
      builtAt: at('2026-11-30T10:00:30Z'),
      publishedAt: at('2026-11-30T10:00:42Z'),
    }),
  );
  await recordPublished(
    redis,
    config.queuePrefix,
    sampleRecord({
      recipe: 'hello',
      version: '2.12-1',
      upstream: { releasedAt: at('2026-11-29T08:00:00Z'), releasedAtSource: 'archive' },
      builtAt: at('2026-11-29T08:05:00Z'),
      publishedAt: at('2026-11-29T08:06:00Z'),
    }),
  );
});

afterAll(async () => {
  await app.close();
  await clearCatalog(redis, config.queuePrefix);
  await redis.quit();
});

describe('release time in the catalog', () => {
  it('the JSON API says where each release time came from', async () => {
    const list = (await app.inject('/api/images')).json();
    const byName = new Map(
      (list.images as { name: string; upstreamReleasedAtSource: string }[]).map((i) => [
        i.name,
        i.upstreamReleasedAtSource,
      ]),
    );
    expect(byName).toEqual(
      new Map([
        ['python', 'first-seen'],
        ['hello', 'archive'],
      ]),
    );
    const python = (await app.inject('/api/images/python')).json();
    expect(python.upstream).toMatchObject({ releasedAtSource: 'first-seen' });
    expect(python.versions[0].upstream).toMatchObject({ releasedAtSource: 'first-seen' });
    expect(python.freshnessSeconds).toBe(42);
  });

  it('the pages mark a freshness counted from first-seen as a lower bound', async () => {
    const python = (await app.inject('/images/python')).body;
    expect(python).toContain('id="release-time-unknown"');
    expect(python).toContain('unknown: first seen');
    expect(python).toMatch(/class="first-seen"[^>]*>≥ 42 s/);
    const hello = (await app.inject('/images/hello')).body;
    expect(hello).not.toContain('unknown: first seen');
    expect(hello).not.toContain('class="first-seen"');
    expect(hello).toContain('Debian InRelease date');
    const catalog = (await app.inject('/')).body;
    expect(catalog.match(/class="first-seen"/g)).toHaveLength(1);
  });
});
