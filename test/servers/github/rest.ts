import type { IncomingMessage, ServerResponse } from 'node:http';
import { etagOf, type Bucket, type FakeRepo, type GithubState } from './state.ts';

/*
 * The REST side of the local GitHub: releases and tags lists with per_page/page and Link
 * pagination, weak ETags with 304 (free, as on GitHub), X-RateLimit-* headers, primary and
 * secondary rate-limit 403s, 404s, and injected 502s.
 */

export function rateHeaders(bucket: Bucket, resource: string): Record<string, string> {
  return {
    'x-ratelimit-limit': String(bucket.limit),
    'x-ratelimit-remaining': String(bucket.remaining),
    'x-ratelimit-reset': String(bucket.reset),
    'x-ratelimit-used': String(bucket.used),
    'x-ratelimit-resource': resource,
  };
}

export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
  res.end(text);
}

/** Which bucket a request spends from, or 'unauthorized' for a bad token. */
export function bucketFor(
  state: GithubState,
  req: IncomingMessage,
  kind: 'core' | 'graphql',
): Bucket | 'unauthorized' | 'anonymous' {
  const auth = req.headers.authorization;
  if (!auth) return 'anonymous';
  const token = /^(?:token|bearer)\s+(.+)$/i.exec(auth)?.[1];
  if (!token || !state.tokens.has(token)) return 'unauthorized';
  return state.buckets[kind];
}

export function handleRest(
  state: GithubState,
  origin: string,
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
): void {
  state.stats.restRequests++;
  const who = bucketFor(state, req, 'core');
  if (who === 'unauthorized')
    return sendJson(res, 401, {
      message: 'Bad credentials',
      documentation_url: `${origin}/docs/rest`,
      status: '401',
    });
  const bucket = who === 'anonymous' ? state.buckets.anonymous : who;
  const resource = who === 'anonymous' ? 'core' : 'core';
  if (state.faults.rest502Rate > 0 && state.random() < state.faults.rest502Rate) {
    state.stats.injected502++;
    res.writeHead(502, { 'content-type': 'text/html' });
    return void res.end('<html><body><h1>502 Bad Gateway</h1></body></html>');
  }
  if (state.faults.secondaryNext > 0) {
    state.faults.secondaryNext--;
    state.stats.rateLimited++;
    return sendJson(
      res,
      state.faults.secondaryStatus,
      {
        message:
          'You have exceeded a secondary rate limit. Please wait a few minutes before you try again.',
        documentation_url: `${origin}/docs/rest`,
      },
      { 'retry-after': String(state.faults.secondaryRetryAfter), ...rateHeaders(bucket, resource) },
    );
  }
  if (url.pathname === '/rate_limit') {
    return sendJson(
      res,
      200,
      { resources: { core: bucket, graphql: state.buckets.graphql }, rate: bucket },
      rateHeaders(bucket, resource),
    );
  }
  const m = /^\/repos\/([^/]+)\/([^/]+)\/(releases|tags)$/.exec(url.pathname);
  if (!m)
    return sendJson(res, 404, {
      message: 'Not Found',
      documentation_url: `${origin}/docs/rest`,
      status: '404',
    });
  const [, owner = '', name = '', kind] = m;
  const repo = state.get(owner, name);
  const body = repo
    ? listPage(repo, kind === 'releases' ? 'releases' : 'tags', origin, url)
    : undefined;
  const ifNoneMatch = req.headers['if-none-match'];
  if (body && ifNoneMatch && ifNoneMatch === body.etag) {
    // GitHub: a 304 to an authorised conditional request does not count against the limit.
    state.stats.notModified++;
    res.writeHead(304, { etag: body.etag, ...rateHeaders(bucket, resource) });
    return void res.end();
  }
  if (!state.spend(bucket, 1)) {
    state.stats.rateLimited++;
    return sendJson(
      res,
      403,
      {
        message: `API rate limit exceeded for ${who === 'anonymous' ? 'this address' : 'user ID 1'}.`,
        documentation_url: `${origin}/docs/rest`,
      },
      rateHeaders(bucket, resource),
    );
  }
  state.stats.restPoints++;
  if (!body)
    return sendJson(
      res,
      404,
      { message: 'Not Found', documentation_url: `${origin}/docs/rest`, status: '404' },
      rateHeaders(bucket, resource),
    );
  res.writeHead(200, {
    'content-type': 'application/json; charset=utf-8',
    etag: body.etag,
    'cache-control': 'private, max-age=60, s-maxage=60',
    vary: 'Accept, Authorization, Cookie, X-GitHub-OTP',
    ...(body.link ? { link: body.link } : {}),
    ...rateHeaders(bucket, resource),
  });
  res.end(body.text);
}

function listPage(
  repo: FakeRepo,
  kind: 'releases' | 'tags',
  origin: string,
  url: URL,
): { text: string; etag: string; link: string | undefined } {
  const perPage = Math.min(100, Math.max(1, Number(url.searchParams.get('per_page') ?? 30) || 30));
  const page = Math.max(1, Number(url.searchParams.get('page') ?? 1) || 1);
  const all = kind === 'releases' ? repo.releases : repo.tags;
  const slice = all.slice((page - 1) * perPage, page * perPage);
  const api = `${origin}/repos/${repo.owner}/${repo.name}`;
  const items =
    kind === 'releases'
      ? slice.map((r) => releaseJson(repo, r as FakeRepo['releases'][number], origin))
      : slice.map((t) => tagJson(repo, t as FakeRepo['tags'][number], origin));
  const text = JSON.stringify(items);
  const last = Math.max(1, Math.ceil(all.length / perPage));
  const links: string[] = [];
  const pageUrl = (p: number) => `<${api}/${kind}?per_page=${perPage}&page=${p}>`;
  if (page < last) links.push(`${pageUrl(page + 1)}; rel="next"`, `${pageUrl(last)}; rel="last"`);
  if (page > 1) links.push(`${pageUrl(1)}; rel="first"`, `${pageUrl(page - 1)}; rel="prev"`);
  return { text, etag: etagOf(text), link: links.length > 0 ? links.join(', ') : undefined };
}

function owner(repo: FakeRepo, origin: string) {
  return {
    login: repo.owner,
    id: 1,
    node_id: 'MDQ6VXNlcjE=',
    avatar_url: `${origin}/avatars/u/1?v=4`,
    url: `${origin}/users/${repo.owner}`,
    html_url: `${origin}/${repo.owner}`,
    type: 'User',
    site_admin: false,
  };
}

function releaseJson(repo: FakeRepo, r: FakeRepo['releases'][number], origin: string) {
  const api = `${origin}/repos/${repo.owner}/${repo.name}`;
  const file = `${repo.name}-${r.tagName.replace(/^v/, '')}.tar.gz`;
  return {
    url: `${api}/releases/${r.id}`,
    assets_url: `${api}/releases/${r.id}/assets`,
    upload_url: `${origin}/uploads/repos/${repo.owner}/${repo.name}/releases/${r.id}/assets{?name,label}`,
    html_url: `${origin}/${repo.owner}/${repo.name}/releases/tag/${r.tagName}`,
    id: r.id,
    author: owner(repo, origin),
    node_id: Buffer.from(`07:Release${r.id}`).toString('base64'),
    tag_name: r.tagName,
    target_commitish: 'main',
    name: r.name,
    draft: r.draft,
    immutable: false,
    prerelease: r.prerelease,
    created_at: r.createdAt,
    updated_at: r.createdAt,
    published_at: r.publishedAt,
    assets: [
      {
        url: `${api}/releases/assets/${r.id + 1}`,
        id: r.id + 1,
        name: file,
        label: '',
        content_type: 'application/gzip',
        state: 'uploaded',
        size: 1_048_576,
        digest: `sha256:${r.sha.padEnd(64, '0')}`,
        download_count: 42,
        created_at: r.createdAt,
        updated_at: r.createdAt,
        browser_download_url: `${origin}/${repo.owner}/${repo.name}/releases/download/${r.tagName}/${file}`,
      },
    ],
    tarball_url: `${api}/tarball/${r.tagName}`,
    zipball_url: `${api}/zipball/${r.tagName}`,
    body: `## What's Changed\n* Release ${r.tagName} by @${repo.owner}\n`,
  };
}

function tagJson(repo: FakeRepo, t: FakeRepo['tags'][number], origin: string) {
  const api = `${origin}/repos/${repo.owner}/${repo.name}`;
  return {
    name: t.name,
    zipball_url: `${api}/zipball/refs/tags/${t.name}`,
    tarball_url: `${api}/tarball/refs/tags/${t.name}`,
    commit: { sha: t.sha, url: `${api}/commits/${t.sha}` },
    node_id: Buffer.from(`03:Ref${repo.id}:${t.name}`).toString('base64'),
  };
}
