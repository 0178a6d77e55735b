import { checkShape } from '../http.ts';
import { toFetchResult, type RawRelease } from '../release.ts';
import type { FetchResult, SourceContext } from '../types.ts';
import type { RateBudget } from './budget.ts';
import type { GithubOctokit } from './client.ts';
import { mapGithubError } from './errors.ts';
import { restReleases, restTags } from './schema.ts';

export type GithubUse = 'releases' | 'tags';

/**
 * One repository over REST with `If-None-Match`: an unchanged repository answers 304, which
 * GitHub does not count against the rate limit. Reads the newest 100 releases or tags: enough to
 * see every new release between two checks.
 */
export async function fetchRepoRest(
  ctx: SourceContext,
  octokit: GithubOctokit,
  budget: RateBudget,
  repo: string,
  use: GithubUse,
): Promise<FetchResult> {
  const [owner = '', name = ''] = repo.split('/');
  const what = `GitHub ${use} of ${repo}`;
  const key = `github:${use}:${repo.toLowerCase()}`;
  const cached = await ctx.cache.get(key);
  // A conditional request that answers 304 is free, so it may go out even on an empty budget.
  budget.ensure(cached?.etag ? 0 : 1);
  let response;
  try {
    response = await octokit.request(
      use === 'releases' ? 'GET /repos/{owner}/{repo}/releases' : 'GET /repos/{owner}/{repo}/tags',
      {
        owner,
        repo: name,
        per_page: 100,
        headers: cached?.etag ? { 'if-none-match': cached.etag } : {},
      },
    );
  } catch (error) {
    const status = (error as { status?: number }).status;
    const headers = (error as { response?: { headers?: Record<string, string> } }).response
      ?.headers;
    if (headers) budget.updateFromHeaders(headers);
    if (status === 304 && cached)
      return { releases: cached.releases, unchanged: true, rejected: [] };
    throw mapGithubError(error, what);
  }
  budget.updateFromHeaders(response.headers);
  budget.spent++;
  const raws: RawRelease[] =
    use === 'releases'
      ? checkShape(response.data, restReleases, what)
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
      : checkShape(response.data, restTags, what).map((t) => ({ tag: t.name }));
  const result = toFetchResult(what, raws);
  await ctx.cache.set(key, { etag: response.headers.etag, releases: result.releases });
  return result;
}
