import { z } from 'zod';
import { checkShape } from '../http.ts';
import { toFetchResult, type RawRelease } from '../release.ts';
import type { FetchResult, SourceContext } from '../types.ts';
import type { RateBudget } from './budget.ts';
import type { GithubOctokit } from './client.ts';
import { mapGithubError } from './errors.ts';
import { restReleases, restTags } from './schema.ts';

export type GithubUse = 'releases' | 'tags';

/** What kiln reads of an Octokit RequestError (Octokit throws on 304 "not modified" too). */
const requestFailure = z.object({
  status: z.number().optional(),
  response: z
    .object({ headers: z.record(z.string(), z.union([z.string(), z.number()]).optional()) })
    .optional(),
});

/**
 * One repository over REST (@octokit/rest's typed `repos.listReleases` / `repos.listTags`, newest
 * first, 100 a page) with `If-None-Match`: an unchanged repository answers 304, which GitHub does
 * not count against the rate limit. Follows `Link: rel="next"` up to `maxPages` pages (default 1:
 * the newest 100 are enough to see every new release between two checks); each page is a point.
 */
export async function fetchRepoRest(
  ctx: SourceContext,
  octokit: GithubOctokit,
  budget: RateBudget,
  repo: string,
  use: GithubUse,
  maxPages = 1,
): Promise<FetchResult> {
  const [owner = '', name = ''] = repo.split('/');
  const what = `GitHub ${use} of ${repo}`;
  const key = `github:${use}:${repo.toLowerCase()}`;
  const cached = await ctx.cache.get(key);
  // A conditional request that answers 304 is free, so it may go out even on an empty budget.
  budget.ensure(cached?.etag ? 0 : 1);
  const params = {
    owner,
    repo: name,
    per_page: 100,
    headers: cached?.etag ? { 'if-none-match': cached.etag } : {},
  };
  const pages =
    use === 'releases'
      ? octokit.paginate.iterator(octokit.rest.repos.listReleases, params)
      : octokit.paginate.iterator(octokit.rest.repos.listTags, params);
  const items: unknown[] = [];
  let etag: string | undefined;
  let read = 0;
  try {
    for await (const page of pages) {
      budget.updateFromHeaders(page.headers);
      budget.spent++;
      // The first page's validator vouches for the answer: new releases appear there first.
      if (read === 0) etag = page.headers.etag;
      items.push(...page.data);
      if (++read >= maxPages) break;
      budget.ensure(1);
    }
  } catch (error) {
    const failure = requestFailure.safeParse(error);
    const headers = failure.success ? failure.data.response?.headers : undefined;
    if (headers) budget.updateFromHeaders(headers);
    if (failure.success && failure.data.status === 304 && cached)
      return { releases: cached.releases, unchanged: true, rejected: [] };
    throw mapGithubError(error, what);
  }
  const raws: RawRelease[] =
    use === 'releases'
      ? checkShape(items, restReleases, what)
          .filter((r) => !r.draft)
          .map((r) => ({
            tag: r.tag_name,
            publishedAt: r.published_at ?? r.created_at,
            prerelease: r.prerelease,
            url: r.html_url,
            checksums: Object.fromEntries(
              (r.assets ?? []).flatMap((a) => (a.digest ? [[a.name, a.digest]] : [])),
            ),
          }))
      : checkShape(items, restTags, what).map((t) => ({ tag: t.name }));
  const result = toFetchResult(what, raws);
  await ctx.cache.set(key, { etag, releases: result.releases });
  return result;
}
