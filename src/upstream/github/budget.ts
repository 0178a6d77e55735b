import { RateLimitedError } from '../errors.ts';

/**
 * What is left of one GitHub rate-limit bucket (REST `core` or `graphql`), learned from response
 * headers and GraphQL's `rateLimit` field. Before spending, a caller asks `ensure(cost)`: when the
 * remaining points would fall under the reserve before the reset, it throws RateLimitedError and
 * the watcher pauses GitHub until `resetAt`.
 */
export class RateBudget {
  remaining: number | undefined;
  limit: number | undefined;
  /** Epoch ms. */
  resetAt = 0;
  /** Points spent through this budget since it was created. */
  spent = 0;

  constructor(
    readonly name: string,
    /** Points kept back for webhooks, manual checks and other users of the token. */
    readonly reserve = 0,
  ) {}

  /** Throws RateLimitedError when `cost` points cannot be spent before the reset. */
  ensure(cost: number, now = Date.now()): void {
    if (this.remaining === undefined || now >= this.resetAt) return;
    if (this.remaining - cost < this.reserve) {
      throw new RateLimitedError(
        `GitHub ${this.name} rate limit: ${this.remaining} point(s) left (reserve ${this.reserve}) until ${new Date(this.resetAt).toISOString()}`,
        this.resetAt,
      );
    }
  }

  /** Records what the server said is left. */
  update(remaining: number, resetAt: number, limit?: number): void {
    this.remaining = remaining;
    this.resetAt = resetAt;
    if (limit !== undefined) this.limit = limit;
  }

  /** Reads X-RateLimit-* headers of a REST or GraphQL response. */
  updateFromHeaders(headers: Record<string, string | number | undefined>): void {
    const remaining = Number(headers['x-ratelimit-remaining']);
    const reset = Number(headers['x-ratelimit-reset']);
    const limit = Number(headers['x-ratelimit-limit']);
    if (Number.isFinite(remaining) && Number.isFinite(reset))
      this.update(remaining, reset * 1000, Number.isFinite(limit) ? limit : undefined);
  }
}
