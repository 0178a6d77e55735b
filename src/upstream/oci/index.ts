import { PermanentError } from '../../errors.ts';
import { httpGet, parseJson } from '../http.ts';
import { toFetchResult } from '../release.ts';
import type {
  CachedEntry,
  FetchResult,
  SourceContext,
  UpstreamSource,
  WatchItem,
} from '../types.ts';
import { fetchToken } from './auth.ts';
import { tagList } from './schema.ts';

const refPattern =
  /^([a-zA-Z0-9.-]+(?::\d+)?)\/([a-z0-9]+(?:[._-][a-z0-9]+)*(?:\/[a-z0-9]+(?:[._-][a-z0-9]+)*)*)$/;
/** Pages followed per check: a repository with more tags than this is cut short (newest pages last). */
const maxPages = 50;

/** Loopback and KILN_REGISTRY_INSECURE hosts are reached over plain HTTP. */
function schemeOf(ctx: SourceContext, host: string): string {
  const name = host.replace(/:\d+$/, '');
  const loopback = name === 'localhost' || name === '::1' || /^127\./.test(name);
  return loopback || ctx.config.insecureRegistries.includes(host) ? 'http' : 'https';
}

/** The `rel="next"` target of a Link header, resolved against the current URL. */
export function nextLink(link: string | null, current: string): string | undefined {
  const m = link && /<([^>]+)>\s*;\s*rel="?next"?/.exec(link);
  return m?.[1] ? new URL(m[1], current).toString() : undefined;
}

/** One check of one image repository: where it is, what it is called in messages, its cache. */
interface TagCheck {
  ctx: SourceContext;
  /** Pull tokens per repository reference, kept while the source is open. */
  tokens: Map<string, string>;
  item: WatchItem;
  host: string;
  repository: string;
  what: string;
  cached: CachedEntry | undefined;
}

type TagResponse = Awaited<ReturnType<typeof httpGet>>;

function headersOf(check: TagCheck): Record<string, string> {
  const token = check.tokens.get(check.item.ref);
  return {
    accept: 'application/json',
    ...(token ? { authorization: `Bearer ${token}` } : {}),
  };
}

/** One GET of a tag page; a 401 challenge is answered once with a pull token. */
async function getPage(check: TagCheck, url: string, conditional: boolean): Promise<TagResponse> {
  const { ctx, what } = check;
  const validators = conditional ? check.cached : undefined;
  let response = await httpGet(ctx, url, {
    what,
    headers: headersOf(check),
    validators,
    passStatuses: [401],
  });
  if (response.status === 401 && 'body' in response) {
    const challenge = response.headers.get('www-authenticate');
    if (!challenge) throw new PermanentError(`${what}: 401 without a challenge`);
    check.tokens.set(
      check.item.ref,
      await fetchToken(ctx, challenge, check.repository, check.host),
    );
    response = await httpGet(ctx, url, { what, headers: headersOf(check), validators });
  }
  if (response.status === 401)
    throw new PermanentError(`${what}: the registry refused the pull token (401)`);
  return response;
}

/** Every page's tags, from the first page's answer on; the first page's ETag. */
async function readPages(
  check: TagCheck,
  firstUrl: string,
  first: TagResponse,
): Promise<{ tags: string[]; etag: string | undefined }> {
  const { what } = check;
  let url: string | undefined = firstUrl;
  let response = first;
  const tags: string[] = [];
  let etag: string | undefined;
  for (let page = 0; url && page < maxPages; page++) {
    if (page > 0) response = await getPage(check, url, false);
    if (!('body' in response))
      throw new PermanentError(`${what}: unexpected 304 on page ${page + 1}`);
    if (page === 0) etag = response.etag;
    tags.push(...(parseJson(response.body, tagList, what).tags ?? []));
    url = nextLink(response.headers.get('link'), url);
  }
  return { tags, etag };
}

async function fetchTags(
  ctx: SourceContext,
  tokens: Map<string, string>,
  item: WatchItem,
): Promise<FetchResult> {
  const m = refPattern.exec(item.ref);
  if (!m?.[1] || !m[2])
    throw new PermanentError(
      `recipe ${item.recipe}: ${JSON.stringify(item.ref)} is not host/repository`,
    );
  const [host, repository] = [m[1], m[2]];
  const what = `tags of ${item.ref}`;
  const key = `oci:${item.ref}`;
  const cached = await ctx.cache.get(key);
  const check: TagCheck = { ctx, tokens, item, host, repository, what, cached };
  const url = `${schemeOf(ctx, host)}://${host}/v2/${repository}/tags/list?n=1000`;
  const first = await getPage(check, url, true);
  if (first.status === 304 && cached)
    return { releases: cached.releases, unchanged: true, rejected: [] };
  const response = first.status === 304 ? await getPage(check, url, false) : first;
  const { tags, etag } = await readPages(check, url, response);
  // Registries list tags lexically; kiln cannot know an order without a version scheme.
  const result = toFetchResult(
    what,
    tags.map((tag) => ({ tag })),
  );
  await ctx.cache.set(key, { etag, releases: result.releases });
  return result;
}

/** An image repository's tags (`host/name`), following Link pagination, with token auth. */
export const ociSource: UpstreamSource = {
  id: 'oci',
  refOf: (upstream) => upstream.oci,
  open(ctx) {
    const tokens = new Map<string, string>();
    return {
      hostOf: (item) => refPattern.exec(item.ref)?.[1] ?? 'invalid',
      fetch: (item) => fetchTags(ctx, tokens, item),
    };
  },
};
