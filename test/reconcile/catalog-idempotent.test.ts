import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getImage, recordPublished, tagHistory } from '../../src/catalog/store.ts';
import type { RedisClient } from '../../src/queue/connection.ts';
import { fakeDigest, sampleRecord } from '../catalog/fixtures.ts';
import { testRedis, uniqueName } from '../helpers/stack.ts';

let redis: RedisClient;
beforeAll(() => {
  redis = testRedis();
});
afterAll(async () => {
  await redis.quit();
});

describe('catalog writes are idempotent', () => {
  it('a publish run again adds no history entry and keeps the first publish time; a real move still does', async () => {
    const prefix = uniqueName('idem');
    const first = sampleRecord({
      recipe: 'tool',
      version: '2.0.0',
      tags: ['2.0.0-r0', '2.0.0', '2', 'latest'],
      publishedAt: '2026-01-01T02:00:00.000Z',
    });
    await recordPublished(redis, prefix, first);
    // The same image published again later (a retry after a crash, a reconcile after a loss).
    const again = { ...first, publishedAt: '2026-01-01T05:00:00.000Z' };
    await recordPublished(redis, prefix, again);
    await recordPublished(redis, prefix, again);

    const history = await tagHistory(redis, prefix, 'tool');
    expect(history.map((e) => e.tag).sort()).toEqual(['2', '2.0.0', '2.0.0-r0', 'latest']);
    const image = await getImage(redis, prefix, 'tool', { staleAfterMs: 3_600_000 });
    expect(image?.versions).toHaveLength(1);
    expect(image?.latest.publishedAt).toBe(first.publishedAt);
    expect(image?.tags.find((t) => t.tag === 'latest')?.at).toBe(first.publishedAt);

    // A nano update moves the floating tags: those moves are history.
    const nano = sampleRecord({
      recipe: 'tool',
      version: '2.0.0',
      epoch: 1,
      digest: fakeDigest('tool 2.0.0-r1'),
      tags: ['2.0.0-r1', '2.0.0', '2', 'latest'],
      publishedAt: '2026-01-02T00:00:00.000Z',
    });
    await recordPublished(redis, prefix, nano);
    await recordPublished(redis, prefix, { ...nano, publishedAt: '2026-01-02T01:00:00.000Z' });
    const after = await tagHistory(redis, prefix, 'tool');
    expect(after).toHaveLength(8);
    expect(after.filter((e) => e.tag === 'latest').map((e) => e.digest)).toEqual([
      nano.digest,
      first.digest,
    ]);
  });
});
