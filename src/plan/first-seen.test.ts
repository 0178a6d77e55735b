import { afterAll, describe, expect, it } from 'vitest';
import { testRedis, uniqueName } from '../../test/helpers/stack.ts';
import { withFirstSeen } from './first-seen.ts';

describe('withFirstSeen', () => {
  const redis = testRedis();
  afterAll(() => redis.disconnect());

  it('stamps releases without a publication time with the first time they were seen, and keeps it', async () => {
    const prefix = uniqueName('seen');
    const releases = [
      { version: '13.8+deb13u7', tag: '13.8+deb13u7', prerelease: false },
      {
        version: '1.0.0',
        tag: 'v1.0.0',
        prerelease: false,
        publishedAt: '2026-01-01T00:00:00.000Z',
      },
    ];
    const first = await withFirstSeen(
      redis,
      prefix,
      'static',
      releases,
      new Date('2026-11-01T10:00:00Z'),
    );
    expect(first.map((r) => r.publishedAt)).toEqual([
      '2026-11-01T10:00:00.000Z',
      '2026-01-01T00:00:00.000Z',
    ]);
    const later = await withFirstSeen(
      redis,
      prefix,
      'static',
      releases,
      new Date('2026-11-05T10:00:00Z'),
    );
    expect(later[0]?.publishedAt).toBe('2026-11-01T10:00:00.000Z');
    const other = await withFirstSeen(
      redis,
      prefix,
      'python',
      releases,
      new Date('2026-11-05T10:00:00Z'),
    );
    expect(other[0]?.publishedAt).toBe('2026-11-05T10:00:00.000Z');
  });
});
