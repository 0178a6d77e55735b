import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiServer } from '../../src/api/server.ts';
import { clearCatalog, recordPublished } from '../../src/catalog/store.ts';
import { loadConfig, type Config } from '../../src/config.ts';
import { createLogger } from '../../src/log.ts';
import type { RedisClient } from '../../src/queue/connection.ts';
import { scanCatalog } from '../../src/vuln/catalog-scan.ts';
import { sampleRecord } from '../catalog/fixtures.ts';
import { testRecipe } from '../debian/fixtures.ts';
import { testRedis, testRegistryHost, uniqueName } from '../helpers/stack.ts';
import { parsePrometheusText, sampleValue } from '../api/prom-text.ts';

/*
 * The catalog's CVE counts: the newest image of a stream matched against a feed file in the
 * Security Tracker's shape, stored in the real Redis, and shown by /api/images and /metrics; a
 * newer image without the CVE makes the fixable count 0 and records the fix's time to fix.
 */

const log = createLogger({ level: 'silent' });

const feed = {
  'libc-fake': {
    'CVE-2026-9001': {
      description: 'Heap overflow in fake_parse()',
      scope: 'remote',
      releases: {
        trixie: {
          status: 'resolved',
          repositories: { trixie: '1.0', 'trixie-security': '1.0+deb13u1' },
          fixed_version: '1.0+deb13u1',
          urgency: 'high',
        },
      },
    },
    'CVE-2026-9002': {
      description: 'No fix yet',
      releases: { trixie: { status: 'open', repositories: { trixie: '1.0' }, urgency: 'low' } },
    },
    'CVE-2026-9003': {
      description: 'Never affected trixie',
      releases: {
        trixie: {
          status: 'resolved',
          repositories: { trixie: '1.0' },
          fixed_version: '0',
          urgency: 'medium',
        },
      },
    },
  },
  unrelated: {
    'CVE-2026-9100': {
      description: 'A package no image has',
      releases: { trixie: { status: 'open', urgency: 'high' } },
    },
  },
};

function libcFake(version: string) {
  return {
    name: 'libc-fake',
    version,
    purl: `pkg:deb/debian/libc-fake@${version}?arch=amd64`,
    source: 'libc-fake',
    sourceVersion: version,
  };
}

const recipe = {
  file: '/r/envtool.yaml',
  recipe: testRecipe(
    { suites: ['trixie', 'trixie-security'], packages: ['envtool'] },
    { name: 'envtool' },
  ),
};

let redis: RedisClient;
let config: Config;
let app: FastifyInstance;
let dir: string;

beforeAll(async () => {
  redis = testRedis();
  dir = await mkdtemp(path.join(os.tmpdir(), 'kiln-catalog-cves-'));
  const feedFile = path.join(dir, 'tracker.json');
  await writeFile(feedFile, JSON.stringify(feed));
  config = loadConfig({
    KILN_QUEUE_PREFIX: uniqueName('cves'),
    KILN_REGISTRY: `${testRegistryHost()}/kiln`,
    KILN_VULN_FEED: feedFile,
    KILN_CACHE_DIR: path.join(dir, 'cache'),
  });
  app = await createApiServer({ config, redis, queues: [], log });
});

afterAll(async () => {
  await app?.close();
  await clearCatalog(redis, config.queuePrefix);
  redis.disconnect();
  await rm(dir, { recursive: true, force: true });
});

async function metrics() {
  return parsePrometheusText((await app.inject('/metrics')).body);
}

describe('CVE counts in the catalog', () => {
  it('counts open CVEs by urgency and fixable ones; a rebuild without the CVE is 0 fixable and a time to fix', async () => {
    const prefix = config.queuePrefix;
    const t0 = Date.parse('2026-11-30T10:00:00.000Z');
    const at = (minutes: number) => new Date(t0 + minutes * 60_000);
    await recordPublished(
      redis,
      prefix,
      sampleRecord({
        recipe: 'envtool',
        version: '1.4-2',
        epoch: 0,
        packages: [libcFake('1.0')],
        publishedAt: at(0).toISOString(),
      }),
    );

    const first = await scanCatalog({ redis, prefix, config, recipes: [recipe], log, now: at(5) });
    expect(first?.summaries).toHaveLength(1);
    expect(first?.summaries[0]).toMatchObject({
      recipe: 'envtool',
      stream: 'default',
      release: 'trixie',
      total: 2,
      fixable: 1,
      byUrgency: { high: 1, low: 1 },
      fixableCves: [
        {
          cve: 'CVE-2026-9001',
          source: 'libc-fake',
          installed: '1.0',
          fixedVersion: '1.0+deb13u1',
          suite: 'trixie-security',
          urgency: 'high',
        },
      ],
    });

    const list = (await app.inject('/api/images')).json<{
      images: { name: string; cves: { total: number; fixable: number } | null }[];
    }>();
    expect(list.images.find((i) => i.name === 'envtool')?.cves).toMatchObject({
      total: 2,
      fixable: 1,
      byUrgency: { high: 1, low: 1 },
    });
    let m = await metrics();
    expect(sampleValue(m, 'kiln_image_cves', { image: 'envtool', urgency: 'high' })).toBe(1);
    expect(sampleValue(m, 'kiln_image_cves', { image: 'envtool', urgency: 'low' })).toBe(1);
    expect(sampleValue(m, 'kiln_image_cves', { image: 'envtool', urgency: 'medium' })).toBe(0);
    expect(sampleValue(m, 'kiln_image_cves_fixable', { image: 'envtool' })).toBe(1);
    expect(sampleValue(m, 'kiln_time_to_fix_count')).toBe(0);

    // A second scan while the image is unchanged keeps the first time the fix was seen.
    await scanCatalog({ redis, prefix, config, recipes: [recipe], log, now: at(20) });

    // The nano update with the fixed package is tagged 95 minutes after the fix was first seen.
    await recordPublished(
      redis,
      prefix,
      sampleRecord({
        recipe: 'envtool',
        version: '1.4-2',
        epoch: 1,
        packages: [libcFake('1.0+deb13u1')],
        publishedAt: at(100).toISOString(),
      }),
    );
    // Before its scan the latest release has no counts: an old scan is not shown as its own.
    const before = (await app.inject('/api/images/envtool')).json<{ cves: unknown }>();
    expect(before.cves).toBeNull();

    const second = await scanCatalog({
      redis,
      prefix,
      config,
      recipes: [recipe],
      log,
      now: at(110),
    });
    expect(second?.summaries[0]).toMatchObject({ epoch: 1, total: 1, fixable: 0 });
    expect(second?.fixed).toEqual([
      {
        stream: 'default',
        cve: 'CVE-2026-9001',
        fixableSince: at(5).toISOString(),
        fixedIn: '1.4-2-r1',
        fixedAt: at(100).toISOString(),
        ms: 95 * 60_000,
      },
    ]);

    const detail = (await app.inject('/api/images/envtool')).json<{
      cves: { fixable: number; total: number };
      timeToFix: { cve: string; seconds: number }[];
    }>();
    expect(detail.cves).toMatchObject({ total: 1, fixable: 0, fixableCves: [] });
    expect(detail.timeToFix).toMatchObject([{ cve: 'CVE-2026-9001', seconds: 95 * 60 }]);
    const all = (await app.inject('/api/images')).json<{
      timeToFix: { fixes: number; medianSeconds: number; p95Seconds: number };
    }>();
    expect(all.timeToFix).toEqual({ fixes: 1, medianSeconds: 5700, p95Seconds: 5700 });

    m = await metrics();
    expect(sampleValue(m, 'kiln_image_cves_fixable', { image: 'envtool' })).toBe(0);
    expect(sampleValue(m, 'kiln_image_cves', { image: 'envtool', urgency: 'high' })).toBe(0);
    expect(sampleValue(m, 'kiln_time_to_fix_seconds', { quantile: '0.5' })).toBe(5700);
    expect(sampleValue(m, 'kiln_time_to_fix_seconds', { quantile: '0.95' })).toBe(5700);
    expect(sampleValue(m, 'kiln_time_to_fix_count')).toBe(1);

    // The catalog page shows the counts and the time to fix.
    const page = (await app.inject('/')).body;
    expect(page).toContain('1 open (1 low)');
    expect(page).toMatch(/<div id="time-to-fix-median">\s*<span class="figure">1 h 35 min<\/span>/);
  });
});
