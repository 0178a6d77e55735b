import { notFound, sendConditional, startServer, type LocalServer } from './http.ts';

/**
 * A local OCI registry front for `tags/list` only: token auth (401 with a Bearer challenge, a
 * token endpoint), `n`/`last` pagination with a Link header, ETag/304 on each page.
 */

export interface LocalOci extends LocalServer {
  repositories: Map<string, string[]>;
  stats: { tokensIssued: number };
}

export async function startLocalOci(): Promise<LocalOci> {
  const repositories = new Map<string, string[]>();
  const token = 'local-pull-token';
  const stats = { tokensIssued: 0 };
  const server = await startServer((req, res, url, self) => {
    if (url.pathname === '/token') {
      stats.tokensIssued++;
      res.writeHead(200, { 'content-type': 'application/json' });
      return void res.end(
        JSON.stringify({
          token,
          access_token: token,
          expires_in: 300,
          issued_at: new Date().toISOString(),
        }),
      );
    }
    const m = /^\/v2\/(.+)\/tags\/list$/.exec(url.pathname);
    if (!m?.[1])
      return notFound(
        res,
        '{"errors":[{"code":"NAME_UNKNOWN","message":"repository name not known to registry"}]}',
      );
    if (req.headers.authorization !== `Bearer ${token}`) {
      res.writeHead(401, {
        'content-type': 'application/json',
        'www-authenticate': `Bearer realm="${self.url}/token",service="local-registry",scope="repository:${m[1]}:pull"`,
      });
      return void res.end(
        '{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}',
      );
    }
    const tags = repositories.get(m[1]);
    if (!tags)
      return notFound(
        res,
        '{"errors":[{"code":"NAME_UNKNOWN","message":"repository name not known to registry"}]}',
      );
    const sorted = [...tags].sort();
    const n = Number(url.searchParams.get('n') ?? 100);
    const last = url.searchParams.get('last');
    const start = last ? sorted.findIndex((t) => t > last) : 0;
    const page = start < 0 ? [] : sorted.slice(start, start + n);
    const more = start >= 0 && start + n < sorted.length;
    const headers: Record<string, string> = more
      ? {
          link: `</v2/${m[1]}/tags/list?n=${n}&last=${encodeURIComponent(page.at(-1) ?? '')}>; rel="next"`,
        }
      : {};
    sendConditional(req, res, self, JSON.stringify({ name: m[1], tags: page }), { headers });
  });
  return Object.assign(server, { repositories, stats });
}
