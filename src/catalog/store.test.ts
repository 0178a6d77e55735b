import type { RedisClient } from '../queue/connection.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fakeDigest, sampleRecord } from '../../test/catalog/fixtures.ts';
import { testRedis, uniqueName } from '../../test/helpers/stack.ts';
import { PermanentError } from '../errors.ts';
import {
  clearCatalog,
  getImage,
  listImages,
  recordPublished,
  recordUpstreamSeen,
  tagHistory,
} from './store.ts';

const HOUR = 3_600_000;
let redis: RedisClient;
beforeAll(() => {
  redis = testRedis();
});
afterAll(async () => {
  await redis.quit();
});

describe('catalog store', () => {
  it('keeps records, current tags and tag history; latest follows the latest tag', async () => {
    const prefix = uniqueName('cat');
    const first = sampleRecord({
      recipe: 'hello',
      version: '1.0.0',
      tags: ['1.0.0-r0', '1.0.0', '1', 'latest'],
      publishedAt: '2026-01-01T02:00:00.000Z',
    });
    const second = sampleRecord({
      recipe: 'hello',
      version: '1.1.0',
      tags: ['1.1.0-r0', '1.1.0', '1', 'latest'],
      upstream: { releasedAt: '2026-01-02T00:00:00.000Z' },
      publishedAt: '2026-01-02T03:00:00.000Z',
    });
    // A backport published later must not become "latest": it did not get the latest tag.
    const backport = sampleRecord({
      recipe: 'hello',
      version: '1.0.1',
      tags: ['1.0.1-r0', '1.0.1', '1.0'],
      upstream: { releasedAt: '2026-01-03T00:00:00.000Z' },
      publishedAt: '2026-01-03T00:30:00.000Z',
    });
    for (const r of [first, second, backport]) await recordPublished(redis, prefix, r);
    await recordPublished(redis, prefix, second); // idempotent: no second history entry

    const image = await getImage(redis, prefix, 'hello', {
      staleAfterMs: HOUR,
      now: Date.parse('2026-01-04T00:00:00Z'),
    });
    expect(image?.latest.version).toBe('1.1.0');
    expect(image?.freshnessMs).toBe(3 * HOUR);
    expect(image?.versions.map((v) => v.version)).toEqual(['1.0.1', '1.1.0', '1.0.0']);
    const tags = Object.fromEntries(image!.tags.map((t) => [t.tag, t.version]));
    expect(tags).toMatchObject({ latest: '1.1.0', '1': '1.1.0', '1.0': '1.0.1', '1.0.0': '1.0.0' });
    const history = await tagHistory(redis, prefix, 'hello');
    expect(history.filter((e) => e.tag === 'latest').map((e) => e.version)).toEqual([
      '1.1.0',
      '1.0.0',
    ]);
    await clearCatalog(redis, prefix);
    expect(await getImage(redis, prefix, 'hello', { staleAfterMs: HOUR })).toBeUndefined();
  });

  it('flags an image stale when a newer upstream release waited longer than the bound', async () => {
    const prefix = uniqueName('cat');
    await recordPublished(redis, prefix, sampleRecord({ recipe: 'app', version: '2.0.0' }));
    await recordUpstreamSeen(redis, prefix, 'app', '1.9.0', '2025-12-01T00:00:00Z'); // older: not pending
    const opts = (now: string) => ({ staleAfterMs: 6 * HOUR, now: Date.parse(now) });
    expect(
      (await getImage(redis, prefix, 'app', opts('2026-02-01T00:00:00Z')))?.staleness.stale,
    ).toBe(false);

    await recordUpstreamSeen(redis, prefix, 'app', '2.1.0', new Date('2026-01-05T00:00:00Z'));
    const fresh = await getImage(redis, prefix, 'app', opts('2026-01-05T05:00:00Z'));
    expect(fresh?.staleness).toMatchObject({
      stale: false,
      pending: { version: '2.1.0' },
      waitingMs: 5 * HOUR,
    });
    const stale = await getImage(redis, prefix, 'app', opts('2026-01-05T07:00:00Z'));
    expect(stale?.staleness.stale).toBe(true);

    await recordPublished(
      redis,
      prefix,
      sampleRecord({
        recipe: 'app',
        version: '2.1.0',
        upstream: { releasedAt: '2026-01-05T00:00:00.000Z' },
        publishedAt: '2026-01-05T08:00:00.000Z',
      }),
    );
    expect(
      (await getImage(redis, prefix, 'app', opts('2026-01-06T00:00:00Z')))?.staleness.stale,
    ).toBe(false);
    await clearCatalog(redis, prefix);
  });

  it('summarises freshness across images as median and p95', async () => {
    const prefix = uniqueName('cat');
    for (let i = 1; i <= 20; i++) {
      await recordPublished(
        redis,
        prefix,
        sampleRecord({
          recipe: `img-${i}`,
          upstream: { releasedAt: '2026-01-01T00:00:00.000Z' },
          publishedAt: new Date(Date.parse('2026-01-01T00:00:00Z') + i * HOUR).toISOString(),
        }),
      );
    }
    await recordPublished(redis, prefix, sampleRecord({ recipe: 'no-release-time', upstream: {} }));
    const { images, freshness } = await listImages(redis, prefix, { staleAfterMs: HOUR });
    expect(images).toHaveLength(21);
    expect(freshness.count).toBe(20);
    expect(freshness.medianMs).toBe(10.5 * HOUR);
    expect(freshness.p95Ms).toBeCloseTo(19.05 * HOUR);
    await clearCatalog(redis, prefix);
  });

  it('keeps the first build tag when the same image is published again without one', async () => {
    const prefix = uniqueName('cat');
    const first = sampleRecord({ recipe: 'app', buildTag: '1.2.3-r0-202601010200' });
    await recordPublished(redis, prefix, first);
    // The publish found the image complete: it set no build tag, the first one still names it.
    const again = { ...first, publishedAt: '2026-01-02T00:00:00.000Z' };
    delete again.buildTag;
    await recordPublished(redis, prefix, again);
    const image = await getImage(redis, prefix, 'app', { staleAfterMs: HOUR });
    expect(image?.latest).toMatchObject({
      buildTag: '1.2.3-r0-202601010200',
      publishedAt: first.publishedAt,
    });
    await expect(
      recordPublished(redis, prefix, sampleRecord({ recipe: 'app', buildTag: 'latest' })),
    ).rejects.toThrow(/buildTag/);
    await clearCatalog(redis, prefix);
  });

  it('refuses a malformed record with a permanent error naming the image', async () => {
    const bad = sampleRecord({ recipe: 'broken', digest: 'sha256:nothex' });
    await expect(recordPublished(redis, uniqueName('cat'), bad)).rejects.toThrow(PermanentError);
    await expect(recordPublished(redis, uniqueName('cat'), bad)).rejects.toThrow(/broken@1\.2\.3/);
    expect(fakeDigest('x')).toMatch(/^sha256:/);
  });
});
