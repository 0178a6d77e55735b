import { describe, expect, it } from 'vitest';
import { backoff, firstCheckDelay, hashFraction, jittered } from './schedule.ts';

describe('schedule', () => {
  it('spreads first checks by name, over at most one interval', () => {
    const delays = Array.from({ length: 5000 }, (_, i) => firstCheckDelay(`r${i}`, 5000, 300_000));
    expect(Math.max(...delays)).toBeLessThan(250_000);
    expect(firstCheckDelay('same', 5000, 300_000)).toBe(firstCheckDelay('same', 5000, 300_000));
    // Ten buckets of the spread get roughly a tenth each: no burst.
    const buckets = new Array<number>(10).fill(0);
    for (const d of delays) buckets[Math.floor(d / 25_000)]! += 1;
    for (const b of buckets) expect(b).toBeGreaterThan(350);
    // A handful of recipes start almost at once.
    expect(firstCheckDelay('x', 3, 300_000)).toBeLessThan(150);
  });

  it('jitters within ±10% and backs off exponentially, honouring Retry-After, capped at the interval', () => {
    expect(jittered(1000, 0.1, () => 0)).toBe(900);
    expect(jittered(1000, 0.1, () => 0.999999)).toBe(1100);
    expect(backoff(1, 300_000)).toBeLessThanOrEqual(18_000);
    expect(backoff(3, 300_000)).toBeGreaterThanOrEqual(48_000);
    expect(backoff(20, 300_000)).toBeLessThanOrEqual(360_000);
    expect(backoff(1, 300_000, 120_000)).toBe(120_000);
    expect(hashFraction('a')).toBeGreaterThanOrEqual(0);
    expect(hashFraction('a')).toBeLessThan(1);
  });
});
