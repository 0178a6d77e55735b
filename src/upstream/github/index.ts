import pLimit from 'p-limit';
import { PermanentError } from '../../errors.ts';
import type {
  FetchResult,
  SourceClient,
  SourceContext,
  UpstreamSource,
  WatchItem,
} from '../types.ts';
import { AdaptiveBatcher } from './batcher.ts';
import { RateBudget } from './budget.ts';
import { createGithubClient, graphqlUrl } from './client.ts';
import { isShrinkable } from './errors.ts';
import { GraphqlFieldError, sendBatch, type BatchItem } from './graphql.ts';
import type { GithubSourceOptions } from './options.ts';
import { fetchRepoRest, type GithubUse } from './rest.ts';

const repoPattern = /^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/;

function useOf(item: WatchItem): GithubUse {
  return item.upstream.use ?? 'releases';
}

/** One opened GitHub source: its client, rate budgets and batcher, shared by every fetch. */
interface GithubSession {
  ctx: SourceContext;
  options: GithubSourceOptions;
  octokit: ReturnType<typeof createGithubClient>;
  graphql: RateBudget;
  core: RateBudget;
  batcher: AdaptiveBatcher;
  url: string;
  useGraphql: boolean;
  restLimit: ReturnType<typeof pLimit>;
}

function openSession(ctx: SourceContext): GithubSession {
  const options: GithubSourceOptions = ctx.sourceOptions?.github ?? {};
  return {
    ctx,
    options,
    octokit: createGithubClient(ctx, options),
    graphql: new RateBudget('graphql', options.reservePoints ?? 0),
    core: new RateBudget('core', options.reservePoints ?? 0),
    batcher: new AdaptiveBatcher(options.batch),
    url: graphqlUrl(ctx.config.githubApiUrl),
    useGraphql: Boolean(ctx.config.githubToken) && options.graphql !== false,
    restLimit: pLimit(options.restConcurrency ?? 10),
  };
}

function check(item: WatchItem): void {
  if (!repoPattern.test(item.ref)) {
    throw new PermanentError(
      `recipe ${item.recipe}: upstream.github ${JSON.stringify(item.ref)} is not owner/name`,
    );
  }
}

function viaRest(s: GithubSession, item: WatchItem): Promise<FetchResult> {
  return s.restLimit(() =>
    fetchRepoRest(s.ctx, s.octokit, s.core, item.ref, useOf(item), s.options.restPages ?? 1),
  );
}

const batchKey = (item: WatchItem): string => `${item.ref.toLowerCase()}#${useOf(item)}`;

/** The indexes of well-formed items; a malformed one gets its error in `out` at once. */
function checkAll(items: WatchItem[], out: (FetchResult | Error)[]): number[] {
  const batchable: number[] = [];
  items.forEach((item, i) => {
    try {
      check(item);
      batchable.push(i);
    } catch (error) {
      out[i] = error instanceof Error ? error : new PermanentError(String(error));
    }
  });
  return batchable;
}

// One entry per (repository, use): several recipes of one repository cost one field.
async function queryBatched(
  s: GithubSession,
  items: WatchItem[],
): Promise<Map<string, FetchResult | Error | undefined>> {
  const unique = new Map<string, BatchItem>();
  for (const item of items) unique.set(batchKey(item), { repo: item.ref, use: useOf(item) });
  const keys = [...unique.keys()];
  const outcomes = await s.batcher.run(
    [...unique.values()],
    (batch) => sendBatch(s.octokit, s.url, s.graphql, batch),
    isShrinkable,
  );
  return new Map(keys.map((k, j) => [k, outcomes[j]]));
}

async function fetchMany(s: GithubSession, items: WatchItem[]): Promise<(FetchResult | Error)[]> {
  const out: (FetchResult | Error)[] = new Array<FetchResult | Error>(items.length);
  const batchable = checkAll(items, out);
  if (!s.useGraphql) {
    await Promise.all(
      batchable.map(
        async (i) =>
          (out[i] = await viaRest(s, items[i] as WatchItem).catch((e: unknown) => asError(e))),
      ),
    );
    return out;
  }
  const byKey = await queryBatched(
    s,
    batchable.map((i) => items[i] as WatchItem),
  );
  await Promise.all(
    batchable.map(async (i) => {
      const item = items[i] as WatchItem;
      const outcome = byKey.get(batchKey(item));
      // A per-repository GraphQL error other than "not found" gets a second chance over REST.
      out[i] =
        outcome instanceof GraphqlFieldError
          ? await viaRest(s, item).catch((e: unknown) => asError(e))
          : (outcome ?? new PermanentError('no outcome'));
    }),
  );
  return out;
}

/**
 * GitHub releases or tags. With a token, many repositories share one GraphQL query (batched,
 * adaptive); without one, or for a repository GraphQL could not answer, REST with ETags.
 */
export const githubSource: UpstreamSource = {
  id: 'github',
  refOf: (upstream) => upstream.github,
  open(ctx: SourceContext): SourceClient {
    const s = openSession(ctx);
    const host = new URL(ctx.config.githubApiUrl).host;
    return {
      hostOf: () => host,
      fetchMany: (items) => fetchMany(s, items),
      async fetch(item) {
        const [result] = await fetchMany(s, [item]);
        if (result instanceof Error) throw result;
        if (!result) throw new PermanentError(`GitHub ${item.ref}: no result`);
        return result;
      },
      rateLimit: () => {
        const budget = s.useGraphql ? s.graphql : s.core;
        if (budget.remaining === undefined) return undefined;
        return { remaining: budget.remaining, limit: budget.limit, resetAt: budget.resetAt };
      },
      stats: () => ({
        graphqlPointsSpent: s.graphql.spent,
        restPointsSpent: s.core.spent,
        batchSize: s.batcher.size,
        graphqlRemaining: s.graphql.remaining,
        restRemaining: s.core.remaining,
      }),
    };
  },
};

function asError(error: unknown): Error {
  return error instanceof Error ? error : new PermanentError(String(error));
}

export type { GithubSourceOptions } from './options.ts';
