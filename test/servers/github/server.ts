import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { GithubArchives } from './archive.ts';
import { handleGraphql } from './graphql.ts';
import { handleRest, sendJson } from './rest.ts';
import { GithubState, newStats } from './state.ts';

export interface LocalGithub {
  /** What KILN_GITHUB_API_URL is set to: `http://127.0.0.1:<port>` (or `…/api/v3` with `ghesPaths`). */
  apiUrl: string;
  state: GithubState;
  /** The web side's source archives (`/<owner>/<repo>/archive/<tag>.tar.gz`), served at the server's root. */
  archives: GithubArchives;
  close(): Promise<void>;
}

export interface LocalGithubOptions {
  tokens?: string[];
  limits?: { core?: number; graphql?: number; anonymous?: number; windowSeconds?: number };
  /** Serve under GitHub Enterprise Server paths: REST at /api/v3, GraphQL at /api/graphql. */
  ghesPaths?: boolean;
  port?: number;
}

/**
 * Starts the local GitHub-compatible server on a loopback port. Control endpoints under /_kiln
 * (seed, publish, faults, stats) let a benchmark in another process drive it.
 */
export async function startLocalGithub(options: LocalGithubOptions = {}): Promise<LocalGithub> {
  const state = new GithubState(new Set(options.tokens ?? []), options.limits);
  const archives = new GithubArchives();
  let origin = '';
  const restBase = options.ghesPaths ? '/api/v3' : '';
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      const url = new URL(req.url ?? '/', origin);
      const graphqlPath = options.ghesPaths ? '/api/graphql' : '/graphql';
      if (url.pathname.startsWith('/_kiln/')) return control(state, url, raw, res);
      // The web side lives at the root, beside GHES's /api/v3, as github.com's does beside api.github.com.
      if (archives.handle(req, res, url, origin)) return;
      if (req.method === 'POST' && url.pathname === graphqlPath) {
        handleGraphql(state, origin + restBase, req, res, raw).catch((error: unknown) =>
          sendJson(res, 500, { message: String(error) }),
        );
        return;
      }
      if (req.method === 'GET' && url.pathname.startsWith(restBase)) {
        url.pathname = url.pathname.slice(restBase.length) || '/';
        return handleRest(state, origin + restBase, req, res, url);
      }
      sendJson(res, 404, { message: 'Not Found' });
    });
  });
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    apiUrl: origin + restBase,
    state,
    archives,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function control(
  state: GithubState,
  url: URL,
  raw: string,
  res: import('node:http').ServerResponse,
): void {
  const body = raw ? (JSON.parse(raw) as Record<string, unknown>) : {};
  switch (url.pathname) {
    case '/_kiln/seed': {
      const count = Number(body.count ?? 0);
      for (let i = 0; i < count; i++)
        state.addRepo(`org${i % 50}/repo${i}`, { releases: Number(body.releases ?? 5) });
      return sendJson(res, 200, { repos: state.repos.size });
    }
    case '/_kiln/publish': {
      const repos = (body.repos as string[] | undefined) ?? [];
      for (const r of repos) state.publish(r, String(body.tag ?? 'v9.9.9'));
      return sendJson(res, 200, { published: repos.length });
    }
    case '/_kiln/faults':
      Object.assign(state.faults, body);
      return sendJson(res, 200, state.faults);
    case '/_kiln/stats':
      return sendJson(res, 200, { stats: state.stats, buckets: state.buckets });
    case '/_kiln/reset-stats':
      state.stats = newStats();
      return sendJson(res, 200, {});
    default:
      return sendJson(res, 404, { message: 'no such control' });
  }
}
