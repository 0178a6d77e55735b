import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startLocalGithub, type LocalGithub } from '../../../test/servers/github/server.ts';
import { newStats } from '../../../test/servers/github/state.ts';
import { testSourceContext } from '../../../test/servers/context.ts';
import { PermanentError } from '../../errors.ts';
import { createLogger } from '../../log.ts';
import { RateLimitedError, UpstreamNotFoundError } from '../errors.ts';
import type { FetchResult, WatchItem } from '../types.ts';
import { graphqlUrl } from './client.ts';
import { githubSource } from './index.ts';

const token = 'ghp_testtoken0123456789';
const item = (repo: string, use?: 'releases' | 'tags'): WatchItem => ({
  recipe: repo.replace('/', '-'),
  ref: repo,
  upstream: { github: repo, ...(use ? { use } : {}) },
});

let gh: LocalGithub;
beforeEach(async () => {
  gh = await startLocalGithub({ tokens: [token] });
});
afterEach(async () => {
  await gh.close();
});

function results(out: (FetchResult | Error)[]): FetchResult[] {
  return out.map((r) => {
    if (r instanceof Error) throw r;
    return r;
  });
}

describe('graphqlUrl', () => {
  it('uses /graphql beside a github.com-style base and /api/graphql for GHES /api/v3', () => {
    expect(graphqlUrl('http://127.0.0.1:1')).toBe('http://127.0.0.1:1/graphql');
    expect(graphqlUrl('https://ghe.example/api/v3/')).toBe('https://ghe.example/api/graphql');
  });
});

describe('github source over GraphQL', () => {
  it('reads many repositories in one query for one point', async () => {
    for (let i = 0; i < 150; i++) gh.state.addRepo(`o/r${i}`, { releases: 3 });
    gh.state.publish('o/r7', 'v2.0.0-rc.1');
    const client = githubSource.open(
      testSourceContext({ GITHUB_TOKEN: token, KILN_GITHUB_API_URL: gh.apiUrl }),
    );
    const out = results(
      await client.fetchMany!(Array.from({ length: 150 }, (_, i) => item(`o/r${i}`))),
    );
    expect(out[0]?.releases.map((r) => r.version)).toEqual(['1.2.0', '1.1.0', '1.0.0']);
    expect(out[7]?.releases[0]).toMatchObject({
      tag: 'v2.0.0-rc.1',
      version: '2.0.0-rc.1',
      prerelease: true,
    });
    expect(gh.state.stats.batchSizes).toEqual([100, 50]);
    expect(gh.state.stats.graphqlPoints).toBe(2);
    expect(client.stats?.().graphqlRemaining).toBe(4998);
  });

  it('shrinks the batch on a 502 and still completes the check', async () => {
    for (let i = 0; i < 100; i++) gh.state.addRepo(`o/r${i}`);
    gh.state.faults.graphql502Above = 30;
    const client = githubSource.open(
      testSourceContext({ GITHUB_TOKEN: token, KILN_GITHUB_API_URL: gh.apiUrl }),
    );
    const out = results(
      await client.fetchMany!(Array.from({ length: 100 }, (_, i) => item(`o/r${i}`))),
    );
    expect(out).toHaveLength(100);
    expect(out.every((r) => r.releases.length === 3)).toBe(true);
    expect(gh.state.stats.injected502).toBeGreaterThan(0);
    expect(gh.state.stats.batchSizes.slice(0, 3)).toEqual([100, 50, 50]);
    expect(gh.state.stats.batchSizes.filter((n) => n <= 30).length).toBeGreaterThanOrEqual(4);
    expect(gh.state.stats.restRequests).toBe(0);
  });

  it('shrinks the batch on a node-limit error', async () => {
    for (let i = 0; i < 40; i++) gh.state.addRepo(`o/r${i}`);
    gh.state.faults.nodeLimit = 200; // 20 releases per repository: 10 repositories fit
    const client = githubSource.open(
      testSourceContext({ GITHUB_TOKEN: token, KILN_GITHUB_API_URL: gh.apiUrl }),
    );
    const out = results(
      await client.fetchMany!(Array.from({ length: 40 }, (_, i) => item(`o/r${i}`))),
    );
    expect(out.every((r) => r.releases.length === 3)).toBe(true);
    expect(gh.state.stats.batchSizes.filter((n) => n <= 10).length).toBeGreaterThanOrEqual(4);
  });

  it('reads tags, and reports a missing repository as not found', async () => {
    gh.state.addRepo('o/tagged', { releases: 2, tags: 4 });
    const client = githubSource.open(
      testSourceContext({ GITHUB_TOKEN: token, KILN_GITHUB_API_URL: gh.apiUrl }),
    );
    const [tags, missing] = await client.fetchMany!([item('o/tagged', 'tags'), item('o/missing')]);
    expect(tags).not.toBeInstanceOf(Error);
    expect((tags as FetchResult).releases.map((r) => r.tag)).toEqual(['v1.1.0', 'v1.0.0']);
    expect((tags as FetchResult).rejected.map((r) => r.tag)).toEqual(['nightly-c', 'nightly-d']);
    expect(missing).toBeInstanceOf(UpstreamNotFoundError);
  });

  it('refuses a spent budget before asking, with the reset time', async () => {
    await gh.close();
    gh = await startLocalGithub({ tokens: [token], limits: { graphql: 1 } });
    gh.state.addRepo('o/a');
    const client = githubSource.open(
      testSourceContext({ GITHUB_TOKEN: token, KILN_GITHUB_API_URL: gh.apiUrl }),
    );
    await client.fetch(item('o/a'));
    const error = await client.fetch(item('o/a')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RateLimitedError);
    expect((error as RateLimitedError).resetAt).toBe(gh.state.buckets.graphql.reset * 1000);
    expect(gh.state.stats.graphqlRequests).toBe(1);
  });

  it('falls back to REST for a repository GraphQL refuses, and only for it', async () => {
    for (const r of ['o/a', 'o/saml', 'o/c']) gh.state.addRepo(r);
    gh.state.faults.graphqlForbidden.add('o/saml');
    const client = githubSource.open(
      testSourceContext({ GITHUB_TOKEN: token, KILN_GITHUB_API_URL: gh.apiUrl }),
    );
    const out = results(await client.fetchMany!([item('o/a'), item('o/saml'), item('o/c')]));
    expect(out.map((r) => r.releases.length)).toEqual([3, 3, 3]);
    expect(gh.state.stats.graphqlRequests).toBe(1);
    expect(gh.state.stats.restRequests).toBe(1);
  });

  it('works against GitHub Enterprise Server paths', async () => {
    await gh.close();
    gh = await startLocalGithub({ tokens: [token], ghesPaths: true });
    gh.state.addRepo('o/a');
    const client = githubSource.open(
      testSourceContext({ GITHUB_TOKEN: token, KILN_GITHUB_API_URL: gh.apiUrl }),
    );
    expect((await client.fetch(item('o/a'))).releases).toHaveLength(3);
    expect(gh.apiUrl).toMatch(/\/api\/v3$/);
  });
});

describe('github source over REST', () => {
  it('polls an unchanged repository again for no rate-limit point (304)', async () => {
    gh.state.addRepo('o/a', { releases: 3 });
    const client = githubSource.open(
      testSourceContext(
        { GITHUB_TOKEN: token, KILN_GITHUB_API_URL: gh.apiUrl },
        { sourceOptions: { github: { graphql: false, retryBaseMs: 5 } } },
      ),
    );
    const first = await client.fetch(item('o/a'));
    expect(first.unchanged).toBe(false);
    expect(first.releases[0]?.checksums).toBeDefined();
    const remaining = gh.state.buckets.core.remaining;
    const second = await client.fetch(item('o/a'));
    expect(second).toMatchObject({ unchanged: true, releases: first.releases });
    expect(gh.state.buckets.core.remaining).toBe(remaining);
    expect(gh.state.stats.notModified).toBe(1);
    gh.state.publish('o/a', 'v3.0.0');
    const third = await client.fetch(item('o/a'));
    expect(third.unchanged).toBe(false);
    expect(third.releases[0]?.version).toBe('3.0.0');
    expect(gh.state.buckets.core.remaining).toBe(remaining - 1);
  });

  it('follows Link pagination up to restPages, a point a page; unchanged, it is one free 304', async () => {
    gh.state.addRepo('o/long', { releases: 150 });
    const open = (restPages?: number) =>
      githubSource.open(
        testSourceContext(
          { GITHUB_TOKEN: token, KILN_GITHUB_API_URL: gh.apiUrl },
          { sourceOptions: { github: { graphql: false, retryBaseMs: 5, restPages } } },
        ),
      );
    const onePage = await open().fetch(item('o/long'));
    expect(onePage.releases).toHaveLength(100);
    expect(gh.state.stats.restRequests).toBe(1);

    gh.state.stats = newStats();
    const client = open(3);
    const all = await client.fetch(item('o/long'));
    expect(all.releases).toHaveLength(150);
    expect(all.releases.at(-1)?.version).toBe('1.0.0');
    expect(gh.state.stats).toMatchObject({ restRequests: 2, restPoints: 2 });
    expect(client.stats?.().restPointsSpent).toBe(2);

    const again = await client.fetch(item('o/long'));
    expect(again).toMatchObject({ unchanged: true });
    expect(again.releases).toHaveLength(150);
    expect(gh.state.stats).toMatchObject({ restRequests: 3, restPoints: 2, notModified: 1 });
  });

  it('is used without a token, retries an injected 502, maps 404', async () => {
    gh.state.addRepo('o/a');
    gh.state.faults.rest502Rate = 0.25;
    const client = githubSource.open(testSourceContext({ KILN_GITHUB_API_URL: gh.apiUrl }));
    for (let i = 0; i < 5; i++) expect((await client.fetch(item('o/a'))).releases).toHaveLength(3);
    expect(gh.state.stats.graphqlRequests).toBe(0);
    gh.state.faults.rest502Rate = 0;
    await expect(client.fetch(item('o/missing'))).rejects.toBeInstanceOf(UpstreamNotFoundError);
  });

  it('turns an exhausted primary limit into RateLimitedError with the reset', async () => {
    await gh.close();
    gh = await startLocalGithub({ tokens: [token], limits: { core: 1 } });
    gh.state.addRepo('o/a');
    gh.state.addRepo('o/b');
    const client = githubSource.open(
      testSourceContext(
        { GITHUB_TOKEN: token, KILN_GITHUB_API_URL: gh.apiUrl },
        { sourceOptions: { github: { graphql: false } } },
      ),
    );
    await client.fetch(item('o/a'));
    const error = await client.fetch(item('o/b')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RateLimitedError);
  });

  it('refuses hostile tags and a repository with no usable version', async () => {
    gh.state.addRepo('o/evil', { releases: 0 });
    gh.state.publish('o/evil', 'v1.0.0;rm');
    gh.state.publish('o/evil', 'v1.0.0$(id)');
    const client = githubSource.open(testSourceContext({ KILN_GITHUB_API_URL: gh.apiUrl }));
    const error = await client.fetch(item('o/evil')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PermanentError);
    expect(String(error)).toMatch(/no usable version among 2/);
    gh.state.publish('o/evil', 'v1.0.1');
    const result = await client.fetch(item('o/evil'));
    expect(result.releases.map((r) => r.version)).toEqual(['1.0.1']);
    expect(result.rejected).toHaveLength(2);
  });
});

describe('github source limits and secrets', () => {
  it('waits out a short secondary limit (Retry-After) in place, and pauses on a long one', async () => {
    gh.state.addRepo('o/a');
    const rest = { sourceOptions: { github: { graphql: false, retryBaseMs: 5 } } };
    const client = githubSource.open(
      testSourceContext({ GITHUB_TOKEN: token, KILN_GITHUB_API_URL: gh.apiUrl }, rest),
    );
    gh.state.faults.secondaryNext = 1;
    gh.state.faults.secondaryRetryAfter = 1;
    expect((await client.fetch(item('o/a'))).releases).toHaveLength(3);
    expect(gh.state.stats.rateLimited).toBe(1);
    gh.state.faults.secondaryNext = 1;
    gh.state.faults.secondaryRetryAfter = 600;
    gh.state.faults.secondaryStatus = 429;
    const error = await client.fetch(item('o/a')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RateLimitedError);
    expect((error as RateLimitedError).resetAt).toBeGreaterThan(Date.now() + 500_000);
  });

  it('never puts the token in errors or logs', async () => {
    const lines: string[] = [];
    const log = createLogger(
      { level: 'trace' },
      { write: (line: string) => void lines.push(line) },
    );
    const ctx = testSourceContext(
      { GITHUB_TOKEN: 'ghp_wrongtoken_0123456789', KILN_GITHUB_API_URL: gh.apiUrl },
      { log },
    );
    gh.state.addRepo('o/a');
    const error = await githubSource
      .open(ctx)
      .fetch(item('o/a'))
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PermanentError);
    expect(String(error)).toMatch(/rejected the credentials/);
    log.error({ err: error }, 'check failed');
    expect(JSON.stringify(error) + String(error) + lines.join('\n')).not.toContain(
      'ghp_wrongtoken_0123456789',
    );
  });

  it('refuses an enormous answer while reading it', async () => {
    gh.state.addRepo('o/big', { releases: 100 });
    const ctx = testSourceContext({ KILN_GITHUB_API_URL: gh.apiUrl }, { maxBodyBytes: 50_000 });
    const error = await githubSource
      .open(ctx)
      .fetch(item('o/big'))
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PermanentError);
    expect(String(error)).toMatch(/larger than the 50000-byte limit/);
  });
});
