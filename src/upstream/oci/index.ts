import { PermanentError } from '../../errors.ts';
import { httpGet, parseJson } from '../http.ts';
import { toFetchResult } from '../release.ts';
import type { SourceContext, UpstreamSource } from '../types.ts';
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

/** An image repository's tags (`host/name`), following Link pagination, with token auth. */
export const ociSource: UpstreamSource = {
  id: 'oci',
  refOf: (upstream) => upstream.oci,
  open(ctx) {
    const tokens = new Map<string, string>();
    return {
      hostOf: (item) => refPattern.exec(item.ref)?.[1] ?? 'invalid',
      async fetch(item) {
        const m = refPattern.exec(item.ref);
        if (!m?.[1] || !m[2])
          throw new PermanentError(
            `recipe ${item.recipe}: ${JSON.stringify(item.ref)} is not host/repository`,
          );
        const [host, repository] = [m[1], m[2]];
        const what = `tags of ${item.ref}`;
        const key = `oci:${item.ref}`;
        const cached = await ctx.cache.get(key);
        const get = async (url: string, conditional: boolean) => {
          const headers = (): Record<string, string> => {
            const token = tokens.get(item.ref);
            return {
              accept: 'application/json',
              ...(token ? { authorization: `Bearer ${token}` } : {}),
            };
          };
          const validators = conditional ? cached : undefined;
          let response = await httpGet(ctx, url, {
            what,
            headers: headers(),
            validators,
            passStatuses: [401],
          });
          if (response.status === 401 && 'body' in response) {
            const challenge = response.headers.get('www-authenticate');
            if (!challenge) throw new PermanentError(`${what}: 401 without a challenge`);
            tokens.set(item.ref, await fetchToken(ctx, challenge, repository, host));
            response = await httpGet(ctx, url, { what, headers: headers(), validators });
          }
          if (response.status === 401)
            throw new PermanentError(`${what}: the registry refused the pull token (401)`);
          return response;
        };
        let url: string | undefined =
          `${schemeOf(ctx, host)}://${host}/v2/${repository}/tags/list?n=1000`;
        const first = await get(url, true);
        if (first.status === 304 && cached)
          return { releases: cached.releases, unchanged: true, rejected: [] };
        let response = first.status === 304 ? await get(url, false) : first;
        const tags: string[] = [];
        let etag: string | undefined;
        for (let page = 0; url && page < maxPages; page++) {
          if (page > 0) response = await get(url, false);
          if (!('body' in response))
            throw new PermanentError(`${what}: unexpected 304 on page ${page + 1}`);
          if (page === 0) etag = response.etag;
          tags.push(...(parseJson(response.body, tagList, what).tags ?? []));
          url = nextLink(response.headers.get('link'), url);
        }
        // Registries list tags lexically; kiln cannot know an order without a version scheme.
        const result = toFetchResult(
          what,
          tags.map((tag) => ({ tag })),
        );
        await ctx.cache.set(key, { etag, releases: result.releases });
        return result;
      },
    };
  },
};
