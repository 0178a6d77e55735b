import { PermanentError, TransientError } from '../../errors.ts';
import { RateLimitedError, UpstreamNotFoundError } from '../errors.ts';
import { checkShape } from '../http.ts';
import { toFetchResult, type RawRelease } from '../release.ts';
import type { FetchResult } from '../types.ts';
import type { RateBudget } from './budget.ts';
import type { GithubOctokit } from './client.ts';
import { BatchTooLargeError, isShrinkable, mapGithubError } from './errors.ts';
import type { GithubUse } from './rest.ts';
import { graphqlRepository, graphqlResponse, rateLimitField, type GraphqlError } from './schema.ts';

export interface BatchItem {
  /** `owner/name`, already checked to be safe. */
  repo: string;
  use: GithubUse;
}

/** Releases (or tags) read per repository: new releases between two checks fit easily. */
export const perRepository = 20;

const releaseFields = `releases(first: ${perRepository}, orderBy: {field: CREATED_AT, direction: DESC}) { nodes { tagName isPrerelease isDraft publishedAt url } }`;
const tagFields = `refs(refPrefix: "refs/tags/", first: ${perRepository}, orderBy: {field: TAG_COMMIT_DATE, direction: DESC}) { nodes { name target { ... on Commit { committedDate } ... on Tag { tagger { date } } } } }`;

/**
 * One query for many repositories: an aliased `repository(owner:, name:)` field each, plus
 * `rateLimit` so every answer tells what it cost and what is left. GitHub charges one point per
 * 100 connections, so 100 repositories cost 1 point.
 */
export function buildBatchQuery(items: BatchItem[]): string {
  const fields = items.map((item, i) => {
    const [owner = '', name = ''] = item.repo.split('/');
    return `  r${i}: repository(owner: ${JSON.stringify(owner)}, name: ${JSON.stringify(name)}) { ${item.use === 'releases' ? releaseFields : tagFields} }`;
  });
  return `query {\n  rateLimit { cost remaining resetAt limit }\n${fields.join('\n')}\n}`;
}

/** GraphQL could not answer for one repository (not a "not found"): REST may get a second try. */
export class GraphqlFieldError extends TransientError {}

/** Per-item outcome of one batch: a result, or an error for that repository alone. */
export type BatchOutcome = FetchResult | Error;

const sizeErrors = new Set([
  'MAX_NODE_LIMIT_EXCEEDED',
  'EXCESSIVE_PAGINATION',
  'RESOURCE_LIMITS_EXCEEDED',
]);

/** Sends one batch; whole-batch failures throw (BatchTooLargeError, RateLimitedError, …). */
export async function sendBatch(
  octokit: GithubOctokit,
  url: string,
  budget: RateBudget,
  items: BatchItem[],
): Promise<BatchOutcome[]> {
  const what = `GitHub GraphQL batch of ${items.length} repositories`;
  budget.ensure(Math.max(1, Math.ceil(items.length / 100)));
  let response;
  try {
    response = await octokit.request({
      method: 'POST',
      url,
      query: buildBatchQuery(items),
      request: { retries: 0 },
    });
  } catch (error) {
    const headers = (error as { response?: { headers?: Record<string, string> } }).response
      ?.headers;
    if (headers) budget.updateFromHeaders(headers);
    if (isShrinkable(error))
      throw new BatchTooLargeError(
        `${what}: ${error instanceof Error ? error.message : String(error)}`,
        { cause: error },
      );
    throw mapGithubError(error, what);
  }
  budget.updateFromHeaders(response.headers);
  const body = checkShape(response.data, graphqlResponse, what);
  const errors = body.errors ?? [];
  const whole = errors.filter((e) => !e.path || e.path.length === 0);
  if (whole.some((e) => e.type === 'RATE_LIMITED')) {
    const resetAt = budget.resetAt > Date.now() ? budget.resetAt : Date.now() + 60_000;
    throw new RateLimitedError(
      `${what}: GitHub GraphQL rate limit exhausted until ${new Date(resetAt).toISOString()}`,
      resetAt,
    );
  }
  const tooLarge = whole.find((e) => e.type && sizeErrors.has(e.type));
  if (tooLarge) throw new BatchTooLargeError(`${what}: ${tooLarge.message}`);
  if (!body.data) {
    throw new TransientError(
      `${what}: no data: ${whole.map((e) => e.message).join('; ') || 'empty answer'}`,
    );
  }
  const rate = rateLimitField.safeParse(body.data.rateLimit);
  if (rate.success) {
    budget.update(rate.data.remaining, Date.parse(rate.data.resetAt), rate.data.limit);
    budget.spent += rate.data.cost;
  }
  const errorsByAlias = new Map<string, GraphqlError>();
  for (const e of errors) if (typeof e.path?.[0] === 'string') errorsByAlias.set(e.path[0], e);
  return items.map((item, i) => outcomeOf(item, body.data?.[`r${i}`], errorsByAlias.get(`r${i}`)));
}

function outcomeOf(item: BatchItem, value: unknown, error: GraphqlError | undefined): BatchOutcome {
  const what = `GitHub ${item.use} of ${item.repo}`;
  if (error?.type === 'NOT_FOUND') return new UpstreamNotFoundError(`${what}: ${error.message}`);
  if (error) return new GraphqlFieldError(`${what}: ${error.type ?? 'error'}: ${error.message}`);
  try {
    const repo = checkShape(value, graphqlRepository, what);
    if (!repo) return new UpstreamNotFoundError(`${what}: repository not found`);
    const raws: RawRelease[] =
      item.use === 'releases'
        ? (repo.releases?.nodes ?? []).flatMap((n) =>
            n && !n.isDraft
              ? [
                  {
                    tag: n.tagName,
                    prerelease: n.isPrerelease,
                    publishedAt: n.publishedAt,
                    url: n.url,
                  },
                ]
              : [],
          )
        : (repo.refs?.nodes ?? []).flatMap((n) =>
            n
              ? [{ tag: n.name, publishedAt: n.target?.committedDate ?? n.target?.tagger?.date }]
              : [],
          );
    return toFetchResult(what, raws);
  } catch (error) {
    return error instanceof Error ? error : new PermanentError(`${what}: ${String(error)}`);
  }
}
