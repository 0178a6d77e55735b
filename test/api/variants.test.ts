import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { redisCatalog } from '../../src/api/catalog-reader.ts';
import { catalogPageRoutes } from '../../src/api/routes/catalog-pages.ts';
import { imageApiRoutes } from '../../src/api/routes/image-api.ts';
import { loadConfig } from '../../src/config.ts';
import { recordCveScan } from '../../src/catalog/cves.ts';
import { clearCatalog, recordPublished } from '../../src/catalog/store.ts';
import type { RedisClient } from '../../src/queue/connection.ts';
import { sampleRecord } from '../catalog/fixtures.ts';
import { testRedis, testRegistryHost, uniqueName } from '../helpers/stack.ts';

/*
 * The catalog shows a recipe's variants beside it, over the real Redis catalog: `static` and its
 * `static-dev` (same repository, the record names the variant) are one entry of the list, the
 * JSON keeps a row for each (so `/api/images/static-dev` and links to it keep working) and adds
 * `variants`; each publish's build tag is in the JSON and on the image page.
 */
let redis: RedisClient;
const config = loadConfig({
  KILN_QUEUE_PREFIX: uniqueName('variants'),
  KILN_REGISTRY: `${testRegistryHost()}/kiln`,
});
const main = sampleRecord({
  recipe: 'static',
  version: '20250101',
  tags: ['20250101-r0', '20250101', 'latest'],
  buildTag: '20250101-r0-202611301000',
  upstream: { releasedAt: '2026-11-30T08:00:00.000Z' },
  publishedAt: '2026-11-30T10:00:00.000Z',
});
const dev = sampleRecord({
  recipe: 'static-dev',
  repository: 'static',
  version: '20250101',
  tags: ['20250101-r0-dev', '20250101-dev', 'latest-dev'],
  buildTag: '20250101-r0-202611301005-dev',
  variant: { name: 'dev', of: 'static' },
  archs: [{ arch: 'amd64', digest: sampleRecord({ recipe: 'x' }).digest, size: 1_572_864 }],
  upstream: { releasedAt: '2026-11-30T08:00:00.000Z' },
  publishedAt: '2026-11-30T11:00:00.000Z',
});
const python = sampleRecord({ recipe: 'python', version: '3.13.5', tags: ['3.13.5-r0', 'latest'] });

beforeAll(async () => {
  redis = testRedis();
  for (const r of [main, dev, python]) await recordPublished(redis, config.queuePrefix, r);
  await recordCveScan(
    redis,
    config.queuePrefix,
    'static-dev',
    [
      {
        summary: {
          recipe: 'static-dev',
          stream: 'default',
          version: dev.version,
          epoch: 0,
          digest: dev.digest,
          release: 'trixie',
          scannedAt: '2026-11-30T12:00:00.000Z',
          feed: 'test feed',
          total: 3,
          fixable: 1,
          byUrgency: { high: 1, low: 2 },
          fixableCves: [
            {
              cve: 'CVE-2026-4242',
              source: 'busybox',
              installed: '1:1.37.0-6',
              fixedVersion: '1:1.37.0-6+deb13u1',
              suite: 'trixie-security',
              urgency: 'high',
            },
          ],
        },
        publishedAt: dev.publishedAt,
      },
    ],
    new Date('2026-11-30T12:00:00Z'),
  );
});

afterAll(async () => {
  await clearCatalog(redis, config.queuePrefix);
  await redis.quit();
});

async function server() {
  const app = Fastify();
  const catalog = redisCatalog(redis, config.queuePrefix);
  await app.register(imageApiRoutes, { config, catalog });
  await app.register(catalogPageRoutes, { config, catalog });
  return app;
}

type Row = {
  name: string;
  variant: string | null;
  variantOf: string | null;
  buildTag: string | null;
  tags: string[];
  digest: string;
  archs: { arch: string; size: number }[];
  freshnessSeconds: number | null;
  cves: { total: number; fixable: number } | null;
  variants: Omit<Row, 'variants'>[];
};

describe('variants in the catalog API', () => {
  it('keeps a row per image and lists each main image’s variants beside it', async () => {
    const app = await server();
    const body = (await app.inject({ url: '/api/images' })).json<{ images: Row[] }>();
    expect(body.images.map((i) => i.name).sort()).toEqual(['python', 'static', 'static-dev']);
    const row = body.images.find((i) => i.name === 'static');
    expect(row).toMatchObject({
      variant: null,
      variantOf: null,
      buildTag: '20250101-r0-202611301000',
      tags: ['20250101', '20250101-r0', 'latest'],
    });
    expect(row?.variants).toHaveLength(1);
    expect(row?.variants[0]).toMatchObject({
      name: 'static-dev',
      variant: 'dev',
      variantOf: 'static',
      digest: dev.digest,
      buildTag: '20250101-r0-202611301005-dev',
      tags: ['20250101-dev', '20250101-r0-dev', 'latest-dev'],
      archs: [{ arch: 'amd64', size: 1_572_864 }],
      freshnessSeconds: 3 * 3600,
      cves: { total: 3, fixable: 1 },
    });
    expect(body.images.find((i) => i.name === 'static-dev')).toMatchObject({
      variant: 'dev',
      variantOf: 'static',
      variants: [],
    });
    expect(body.images.find((i) => i.name === 'python')?.variants).toEqual([]);
    await app.close();
  });

  it('shows a main image’s variants with their pull references, and a variant’s main image', async () => {
    const app = await server();
    const ref = `${config.registry}/static`;
    const detail = (await app.inject({ url: '/api/images/static' })).json<{
      buildTag: string;
      commands: Record<string, string>;
      versions: { versionTag: string; buildTag: string | null }[];
      variants: (Row & { commands: Record<string, string> })[];
      family: unknown[];
    }>();
    expect(detail.buildTag).toBe('20250101-r0-202611301000');
    expect(detail.versions[0]?.buildTag).toBe('20250101-r0-202611301000');
    expect(detail.commands.pullByTag).toBe(`docker pull ${ref}:latest`);
    expect(detail.commands.pullByBuildTag).toBe(`docker pull ${ref}:20250101-r0-202611301000`);
    expect(detail.family).toEqual([]);
    expect(detail.variants.map((v) => [v.name, v.commands.pullByTag, v.commands.pull])).toEqual([
      ['static-dev', `docker pull ${ref}:latest-dev`, `docker pull ${ref}@${dev.digest}`],
    ]);

    const variant = await app.inject({ url: '/api/images/static-dev' });
    expect(variant.statusCode).toBe(200);
    expect(variant.json()).toMatchObject({
      name: 'static-dev',
      variantOf: 'static',
      variants: [],
      family: [{ name: 'static', commands: { pullByTag: `docker pull ${ref}:latest` } }],
    });
    await app.close();
  });
});

describe('variants on the catalog pages', () => {
  it('lists one entry per image with its variant’s tags, digest, size and CVEs under it', async () => {
    const app = await server();
    const page = (await app.inject({ url: '/' })).body;
    const entries = [...page.matchAll(/<tbody class="entry" id="entry-([^"]+)"/g)].map((m) => m[1]);
    expect(entries.sort()).toEqual(['python', 'static']);
    const entry = /<tbody class="entry" id="entry-static">([\s\S]*?)<\/tbody>/.exec(page)?.[1];
    expect(entry).toContain('data-image="static-dev"');
    expect(entry).toContain('<code class="tag">latest-dev</code>');
    expect(entry).toContain('href="/images/static-dev"');
    expect(entry).toContain('1.5 MiB');
    expect(entry).toMatch(/3 open \(1 high, 2 low\)/);
    expect(page).toMatch(
      /<span class="figure">2<\/span> images\s*<span class="muted"\s*>\+ 1 variant</,
    );
    await app.close();
  });

  it('shows the variant’s tags, build tag and pull references beside the main image’s', async () => {
    const app = await server();
    const ref = `${config.registry}/static`;
    const page = (await app.inject({ url: '/images/static' })).body;
    expect(page).toContain('id="latest-build-tag">20250101-r0-202611301000<');
    const section = /<section id="variants">([\s\S]*?)<\/section>/.exec(page)?.[1] ?? '';
    expect(section).toContain(`docker pull ${ref}:latest-dev`);
    expect(section).toContain(`docker pull ${ref}@${dev.digest}`);
    expect(section).toContain(`docker pull ${ref}:latest<`);
    expect(section).toContain('20250101-r0-202611301005-dev');
    expect(section).toContain('<code class="tag">latest-dev</code>');

    const devPage = await app.inject({ url: '/images/static-dev' });
    expect(devPage.statusCode).toBe(200);
    expect(devPage.body).toMatch(/variant of <a href="\/images\/static">static<\/a>/);
    expect(devPage.body).toContain(`docker pull ${ref}:latest<`);
    await app.close();
  });
});
