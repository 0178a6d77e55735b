import type { AdaptiveBatchOptions } from './batcher.ts';

/*
 * The GitHub source's tuning, apart from the source itself: src/upstream/types.ts names it in
 * SourceContext, and the source's files import types.ts, so keeping the options here (importing
 * nothing of upstream/ but the batcher's options) keeps the two from importing each other.
 */

export interface GithubClientOptions {
  /** Base of plugin-retry's backoff for 5xx, in ms: (retry count)² × this. */
  retryBaseMs?: number;
  /** Secondary limits with a Retry-After up to this many seconds are waited out in place. */
  maxInlineWaitSeconds?: number;
  /** GraphQL requests in flight at once (GitHub asks for few; plugin-throttling's default is 1/s). */
  graphqlConcurrency?: number;
  /** REST requests in flight at once (plugin-throttling's default: 10). */
  restConcurrency?: number;
}

/** Tuning of the GitHub source; defaults suit github.com. */
export interface GithubSourceOptions extends GithubClientOptions {
  batch?: AdaptiveBatchOptions;
  /** Points of each bucket left for others (webhook checks, other users of the token). */
  reservePoints?: number;
  /** Use GraphQL batches when a token is configured (default true). */
  graphql?: boolean;
  /** Pages of 100 the REST fallback reads per repository on a change (default 1; a point each). */
  restPages?: number;
}
