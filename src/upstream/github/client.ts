import Bottleneck from 'bottleneck';
import { Octokit } from '@octokit/rest';
import { retry } from '@octokit/plugin-retry';
import { throttling } from '@octokit/plugin-throttling';
import { fetch as undiciFetch, Response } from 'undici';
import { readCapped } from '../http.ts';
import type { SourceContext } from '../types.ts';
import type { GithubClientOptions } from './options.ts';

const KilnOctokit = Octokit.plugin(throttling, retry);
export type GithubOctokit = InstanceType<typeof KilnOctokit>;

/**
 * The GraphQL endpoint for a REST base: `${base}/graphql` on github.com-style hosts, and
 * `${host}/api/graphql` on GitHub Enterprise Server, whose REST base ends in `/api/v3`.
 */
export function graphqlUrl(apiUrl: string): string {
  const base = apiUrl.replace(/\/+$/, '');
  return /\/api\/v3$/.test(base) ? base.replace(/\/api\/v3$/, '/api/graphql') : `${base}/graphql`;
}

let instances = 0;

/**
 * @octokit/rest's Octokit (typed REST endpoints, pagination) with plugin-throttling (primary and secondary limits, Retry-After) and plugin-retry
 * (5xx backoff). Primary-limit exhaustion is not waited out here: the error reaches the watcher,
 * which pauses every GitHub check until the reset while other sources go on.
 */
export function createGithubClient(
  ctx: SourceContext,
  options: GithubClientOptions = {},
): GithubOctokit {
  const log = ctx.log.child({ source: 'github' });
  const maxInline = options.maxInlineWaitSeconds ?? 10;
  const throttle = {
    id: `kiln-${process.pid}-${instances++}`,
    // plugin-throttling sends GraphQL through its "write" group (1 request/s); reads need not wait.
    write: new Bottleneck.Group({ maxConcurrent: options.graphqlConcurrency ?? 2, minTime: 0 }),
    // `global` (all reads) is read by plugin-throttling from its options though not in its types.
    global: new Bottleneck.Group({ maxConcurrent: options.restConcurrency ?? 10 }),
    onRateLimit: (retryAfter: number) => {
      log.warn(
        { retryAfterSeconds: retryAfter },
        'GitHub rate limit exhausted; pausing GitHub checks',
      );
      return false;
    },
    onSecondaryRateLimit: (
      retryAfter: number,
      _options: unknown,
      _octokit: unknown,
      retryCount: number,
    ) => {
      const wait = retryCount === 0 && retryAfter <= maxInline;
      log.warn({ retryAfterSeconds: retryAfter, retrying: wait }, 'GitHub secondary rate limit');
      return wait;
    },
  };
  return new KilnOctokit({
    baseUrl: ctx.config.githubApiUrl,
    auth: ctx.config.githubToken,
    userAgent: 'kiln',
    request: { fetch: cappedFetch(ctx) },
    // 429 is left to plugin-throttling, which honours Retry-After; plugin-retry would not.
    retry: {
      retries: 2,
      retryAfterBaseValue: options.retryBaseMs ?? 1000,
      doNotRetry: [400, 401, 403, 404, 410, 422, 429, 451],
    },
    throttle,
    log: {
      debug: (message: string) => log.debug(message),
      info: (message: string) => log.debug(message),
      warn: (message: string) => log.warn(message),
      error: (message: string) => log.error(message),
    },
  });
}

/** fetch with the context's timeout and body cap, so a huge or slow answer cannot hurt us. */
function cappedFetch(ctx: SourceContext): typeof globalThis.fetch {
  const capped = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const timeout = AbortSignal.timeout(ctx.timeoutMs);
    const signal = init?.signal ? AbortSignal.any([init.signal, timeout]) : timeout;
    const response = await undiciFetch(String(input instanceof Request ? input.url : input), {
      method: init?.method,
      headers: init?.headers as Record<string, string> | undefined,
      body: init?.body as string | undefined,
      redirect: 'follow',
      signal,
    });
    const body =
      response.status === 304 || response.status === 204
        ? null
        : await readCapped(response, ctx.maxBodyBytes, 'GitHub API response');
    return new Response(body, {
      status: response.status,
      statusText: response.statusText,
      headers: response.headers,
    });
  };
  return capped as unknown as typeof globalThis.fetch;
}
