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

/**
 * GitHub releases or tags. With a token, many repositories share one GraphQL query (batched,
 * adaptive); without one, or for a repository GraphQL could not answer, REST with ETags.
 */
export const githubSource: UpstreamSource = {
  id: 'github',
  refOf: (upstream) => upstream.github,
  open(ctx: SourceContext): SourceClient {
    const options: GithubSourceOptions = ctx.sourceOptions?.github ?? {};
    const octokit = createGithubClient(ctx, options);
    const graphql = new RateBudget('graphql', options.reservePoints ?? 0);
    const core = new RateBudget('core', options.reservePoints ?? 0);
    const batcher = new AdaptiveBatcher(options.batch);
    const url = graphqlUrl(ctx.config.githubApiUrl);
    const host = new URL(ctx.config.githubApiUrl).host;
    const useGraphql = Boolean(ctx.config.githubToken) && options.graphql !== false;
    const restLimit = pLimit(options.restConcurrency ?? 10);

    const check = (item: WatchItem): void => {
      if (!repoPattern.test(item.ref)) {
        throw new PermanentError(
          `recipe ${item.recipe}: upstream.github ${JSON.stringify(item.ref)} is not owner/name`,
        );
      }
    };

    const viaRest = (item: WatchItem): Promise<FetchResult> =>
      restLimit(() =>
        fetchRepoRest(ctx, octokit, core, item.ref, useOf(item), options.restPages ?? 1),
      );

    const fetchMany = async (items: WatchItem[]): Promise<(FetchResult | Error)[]> => {
      const out: (FetchResult | Error)[] = new Array<FetchResult | Error>(items.length);
      const batchable: number[] = [];
      items.forEach((item, i) => {
        try {
          check(item);
          batchable.push(i);
        } catch (error) {
          out[i] = error instanceof Error ? error : new PermanentError(String(error));
        }
      });
      if (!useGraphql) {
        await Promise.all(
          batchable.map(
            async (i) =>
              (out[i] = await viaRest(items[i] as WatchItem).catch((e: unknown) => asError(e))),
          ),
        );
        return out;
      }
      // One entry per (repository, use): several recipes of one repository cost one field.
      const unique = new Map<string, BatchItem>();
      for (const i of batchable) {
        const item = items[i] as WatchItem;
        unique.set(`${item.ref.toLowerCase()}#${useOf(item)}`, {
          repo: item.ref,
          use: useOf(item),
        });
      }
      const keys = [...unique.keys()];
      const outcomes = await batcher.run(
        [...unique.values()],
        (batch) => sendBatch(octokit, url, graphql, batch),
        isShrinkable,
      );
      const byKey = new Map(keys.map((k, j) => [k, outcomes[j]]));
      await Promise.all(
        batchable.map(async (i) => {
          const item = items[i] as WatchItem;
          const outcome = byKey.get(`${item.ref.toLowerCase()}#${useOf(item)}`);
          // A per-repository GraphQL error other than "not found" gets a second chance over REST.
          out[i] =
            outcome instanceof GraphqlFieldError
              ? await viaRest(item).catch((e: unknown) => asError(e))
              : (outcome ?? new PermanentError('no outcome'));
        }),
      );
      return out;
    };

    return {
      hostOf: () => host,
      fetchMany,
      async fetch(item) {
        const [result] = await fetchMany([item]);
        if (result instanceof Error) throw result;
        if (!result) throw new PermanentError(`GitHub ${item.ref}: no result`);
        return result;
      },
      rateLimit: () => {
        const budget = useGraphql ? graphql : core;
        if (budget.remaining === undefined) return undefined;
        return { remaining: budget.remaining, limit: budget.limit, resetAt: budget.resetAt };
      },
      stats: () => ({
        graphqlPointsSpent: graphql.spent,
        restPointsSpent: core.spent,
        batchSize: batcher.size,
        graphqlRemaining: graphql.remaining,
        restRemaining: core.remaining,
      }),
    };
  },
};

function asError(error: unknown): Error {
  return error instanceof Error ? error : new PermanentError(String(error));
}

export type { GithubSourceOptions } from './options.ts';
