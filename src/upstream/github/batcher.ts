import pLimit from 'p-limit';
import { TransientError } from '../../errors.ts';
import { RateLimitedError } from '../errors.ts';

export interface AdaptiveBatchOptions {
  /** First batch size (default 100: one GraphQL point). */
  initial?: number;
  /** Largest batch size (default 100). */
  max?: number;
  /** Successful batches in a row before the size doubles again (default 3). */
  growAfter?: number;
  /** Batches in flight at once (default 2). */
  concurrency?: number;
  /** Successful batches after a failure before a size that failed is tried again (default 50). */
  probeAfter?: number;
}

/**
 * Splits work into batches whose size adapts: halved when a batch fails for its size (a 502, a
 * timeout, a node-limit error), doubled back after a run of successes. Outlives one cycle, so
 * what it learnt about the server carries over.
 */
export class AdaptiveBatcher {
  size: number;
  private readonly max: number;
  private readonly growAfter: number;
  private readonly concurrency: number;
  private readonly probeAfter: number;
  private streak = 0;
  /** Smallest size that failed lately; growth stays under it until `probeAfter` successes. */
  private ceiling = Infinity;
  private sinceFailure = 0;

  constructor(options: AdaptiveBatchOptions = {}) {
    this.max = options.max ?? 100;
    this.size = Math.min(options.initial ?? this.max, this.max);
    this.growAfter = options.growAfter ?? 3;
    this.concurrency = options.concurrency ?? 2;
    this.probeAfter = options.probeAfter ?? 50;
  }

  private succeeded(): void {
    if (++this.sinceFailure >= this.probeAfter) this.ceiling = Infinity;
    const next = Math.min(this.max, this.size * 2);
    if (++this.streak >= this.growAfter && next > this.size && next < this.ceiling) {
      this.size = next;
      this.streak = 0;
    }
  }

  /**
   * Runs `send` over all items. Returns one outcome per item, in order. A rate-limit error ends
   * the run: every item not yet done gets it, so the caller pauses the source.
   */
  async run<I, O>(
    items: I[],
    send: (batch: I[]) => Promise<(O | Error)[]>,
    shrinkable: (error: unknown) => boolean,
  ): Promise<(O | Error)[]> {
    const out: (O | Error)[] = new Array<O | Error>(items.length);
    const pending: number[][] = [];
    let next = 0;
    let stopped: RateLimitedError | undefined;
    const take = (): number[] | undefined => {
      const retry = pending.shift();
      if (retry) return retry;
      if (next >= items.length) return undefined;
      const indices: number[] = [];
      for (let i = 0; i < this.size && next < items.length; i++) indices.push(next++);
      return indices;
    };
    const worker = async (): Promise<void> => {
      for (let batch = take(); batch && !stopped; batch = take()) {
        try {
          const results = await send(batch.map((i) => items[i] as I));
          batch.forEach((index, j) => {
            out[index] = results[j] ?? new TransientError('missing from the batch answer');
          });
          this.succeeded();
        } catch (error) {
          this.streak = 0;
          if (error instanceof RateLimitedError) {
            stopped = error;
            batch.forEach((index) => (out[index] = error));
          } else if (shrinkable(error) && batch.length > 1) {
            this.ceiling = Math.min(this.ceiling, batch.length);
            this.sinceFailure = 0;
            this.size = Math.max(1, Math.min(this.size, Math.floor(batch.length / 2)));
            const half = Math.ceil(batch.length / 2);
            pending.push(batch.slice(0, half), batch.slice(half));
          } else {
            const failure = error instanceof Error ? error : new TransientError(String(error));
            batch.forEach((index) => (out[index] = failure));
          }
        }
      }
    };
    const limit = pLimit(this.concurrency);
    // Workers may run dry while another's failed batch is about to be split; loop until all done.
    while (!stopped && (next < items.length || pending.length > 0)) {
      await Promise.all(Array.from({ length: this.concurrency }, () => limit(worker)));
    }
    if (stopped) for (let i = 0; i < items.length; i++) out[i] ??= stopped;
    return out;
  }
}
