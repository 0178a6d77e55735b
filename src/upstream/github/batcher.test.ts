import { describe, expect, it } from 'vitest';
import { RateLimitedError } from '../errors.ts';
import { AdaptiveBatcher } from './batcher.ts';

class TooBig extends Error {}

describe('AdaptiveBatcher', () => {
  it('halves on a size failure, then grows back after successes', async () => {
    const batcher = new AdaptiveBatcher({
      initial: 64,
      max: 64,
      growAfter: 2,
      concurrency: 1,
      probeAfter: 10,
    });
    let limit = 16;
    const sizes: number[] = [];
    const send = async (batch: number[]) => {
      sizes.push(batch.length);
      if (batch.length > limit) throw new TooBig();
      return batch.map((n) => n * 2);
    };
    const items = Array.from({ length: 64 }, (_, i) => i);
    const out = await batcher.run(items, send, (e) => e instanceof TooBig);
    expect(out).toEqual(items.map((n) => n * 2));
    expect(sizes.slice(0, 4)).toEqual([64, 32, 32, 16]);
    // 16 worked and 32 failed: it stays at 16 rather than fail again every few batches…
    expect(batcher.size).toBe(16);
    // …until enough successes make it worth probing larger sizes again.
    limit = 1000;
    await batcher.run(
      Array.from({ length: 400 }, (_, i) => i),
      send,
      (e) => e instanceof TooBig,
    );
    expect(batcher.size).toBe(64);
  });

  it('stops at a rate limit and hands it to every item not done', async () => {
    const batcher = new AdaptiveBatcher({ initial: 2, concurrency: 1 });
    let calls = 0;
    const out = await batcher.run(
      [1, 2, 3, 4, 5, 6],
      async (batch) => {
        if (++calls === 2) throw new RateLimitedError('spent', Date.now() + 1000);
        return batch;
      },
      () => false,
    );
    expect(out.slice(0, 2)).toEqual([1, 2]);
    expect(out.slice(2).every((o) => o instanceof RateLimitedError)).toBe(true);
    expect(calls).toBe(2);
  });

  it('gives a single item that still fails its error', async () => {
    const batcher = new AdaptiveBatcher({ initial: 4, concurrency: 2 });
    const out = await batcher.run(
      [1, 2, 3, 4],
      async (batch) => {
        if (batch.includes(3)) throw new TooBig();
        return batch;
      },
      (e) => e instanceof TooBig,
    );
    expect(out[0]).toBe(1);
    expect(out[2]).toBeInstanceOf(TooBig);
    expect(out[3]).toBe(4);
  });
});
