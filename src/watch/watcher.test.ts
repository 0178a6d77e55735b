import { afterEach, describe, expect, it, vi } from 'vitest';
import { testRedis, uniqueName } from '../../test/helpers/stack.ts';
import { startLocalGithub, type LocalGithub } from '../../test/servers/github/server.ts';
import { startLocalNpm, type LocalNpm } from '../../test/servers/npm.ts';
import { watchedRecipe } from '../../test/servers/recipes.ts';
import { readSignals } from '../catalog/signals.ts';
import { loadConfig } from '../config.ts';
import { createLogger } from '../log.ts';
import type { LoadedRecipe } from '../recipe/index.ts';
import type { Release } from '../upstream/types.ts';
import { systemClock, type WatchClock } from './clock.ts';
import type { Watcher } from './types.ts';
import { createWatcher } from './watcher.ts';

const token = 'ghp_watchertesttoken42';
const quiet = createLogger({ level: process.env.KILN_TEST_LOG ?? 'silent' });
const cleanup: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

async function servers(limits?: {
  graphql?: number;
  windowSeconds?: number;
}): Promise<{ gh: LocalGithub; npm: LocalNpm }> {
  const gh = await startLocalGithub({ tokens: [token], ...(limits ? { limits } : {}) });
  const npm = await startLocalNpm();
  cleanup.push(
    () => gh.close(),
    () => npm.close(),
  );
  return { gh, npm };
}

function watcher(
  env: Record<string, string>,
  recipes: LoadedRecipe[],
  extra: Partial<Parameters<typeof createWatcher>[0]> = {},
) {
  const seen: { recipe: string; releases: Release[] }[] = [];
  const w: Watcher = createWatcher({
    config: loadConfig({ KILN_QUEUE_PREFIX: uniqueName('watch'), ...env }),
    recipes: () => recipes,
    onReleases: (loaded, releases) => {
      seen.push({ recipe: loaded.recipe.name, releases });
    },
    log: quiet,
    tickMs: 20,
    batchDelayMs: 0,
    sourceOptions: { github: { retryBaseMs: 5 } },
    ...extra,
  });
  cleanup.push(() => w.stop());
  return { w, seen };
}

/** The watcher's clock, moved by hand; ticks still come from real timers, but only look at it. */
function manualClock(
  start = Date.now(),
): WatchClock & { set(ms: number): void; advance(ms: number): void } {
  let now = start;
  return {
    now: () => now,
    after: systemClock.after,
    set: (ms) => void (now = ms),
    advance: (ms) => void (now += ms),
  };
}

describe('watcher', () => {
  it('pauses GitHub checks at rate-limit exhaustion until the reset, while npm checks go on', async () => {
    // A one-hour window: the bucket does not refill during the test, however slow the machine.
    const { gh, npm } = await servers({ graphql: 1, windowSeconds: 3600 });
    gh.state.addRepo('o/a');
    gh.state.addRepo('o/b');
    npm.packages.set('left-pad', {
      name: 'left-pad',
      versions: [{ version: '1.3.0', time: '2024-01-01T00:00:00.000Z' }],
    });
    const recipes = [
      watchedRecipe('a', { github: 'o/a' }),
      watchedRecipe('b', { github: 'o/b' }),
      watchedRecipe('pad', { npm: 'left-pad' }),
    ];
    const clock = manualClock();
    // batchSize 2: the two GitHub recipes go out together in one batch.
    const { w, seen } = watcher(
      {
        GITHUB_TOKEN: token,
        KILN_GITHUB_API_URL: gh.apiUrl,
        KILN_NPM_REGISTRY: npm.url,
        KILN_POLL_INTERVAL: '1m',
      },
      recipes,
      { batchDelayMs: 10_000, batchSize: 2, clock },
    );
    const npmHits = () => npm.hits.get('/left-pad') ?? 0;
    w.start();
    // First cycle, once every first check is due: one GraphQL batch spends the only point.
    await vi.waitFor(() => expect(w.status()).toHaveLength(3));
    clock.advance(1_000);
    await vi.waitFor(() => expect(seen.map((s) => s.recipe).sort()).toEqual(['a', 'b', 'pad']), {
      timeout: 10_000,
    });
    expect(gh.state.stats.graphqlRequests).toBe(1);
    expect(gh.state.buckets.graphql.remaining).toBe(0);
    // Next interval: the budget refuses before a request goes out, and GitHub pauses until the reset.
    const hits = npmHits();
    clock.advance(70_000);
    await vi.waitFor(() => expect(w.pausedUntil('github')).toBeDefined(), { timeout: 10_000 });
    const resetAt = gh.state.buckets.graphql.reset * 1000;
    expect(w.pausedUntil('github')).toBe(resetAt);
    expect(w.status().find((s) => s.recipe === 'a')?.lastError).toMatch(/rate limit/);
    await vi.waitFor(() => expect(npmHits()).toBeGreaterThan(hits), { timeout: 10_000 });
    // npm checks keep coming, interval after interval, while GitHub sends nothing.
    for (let i = 0; i < 3; i++) {
      const before = npmHits();
      clock.advance(70_000);
      await vi.waitFor(() => expect(npmHits()).toBeGreaterThan(before), { timeout: 10_000 });
      expect(w.pausedUntil('github')).toBe(resetAt);
    }
    expect(gh.state.stats.graphqlRequests).toBe(1);
    expect(gh.state.stats.rateLimited).toBe(0); // the budget stopped us before the server had to
    // The pause ends when the watcher's clock reaches the reset.
    clock.set(resetAt - 1);
    expect(w.pausedUntil('github')).toBe(resetAt);
    clock.set(resetAt);
    expect(w.pausedUntil('github')).toBeUndefined();
  });

  it('resumes GitHub checks once its clock passes a Retry-After, while npm checks go on meanwhile', async () => {
    const { gh, npm } = await servers();
    gh.state.addRepo('o/a');
    npm.packages.set('left-pad', {
      name: 'left-pad',
      versions: [{ version: '1.3.0', time: '2024-01-01T00:00:00.000Z' }],
    });
    // The first REST request meets a secondary rate limit: 403 with Retry-After: 600.
    gh.state.faults.secondaryNext = 1;
    gh.state.faults.secondaryRetryAfter = 600;
    const clock = manualClock();
    const { w, seen } = watcher(
      {
        GITHUB_TOKEN: token,
        KILN_GITHUB_API_URL: gh.apiUrl,
        KILN_NPM_REGISTRY: npm.url,
        KILN_POLL_INTERVAL: '1m',
      },
      [watchedRecipe('a', { github: 'o/a' }), watchedRecipe('pad', { npm: 'left-pad' })],
      { clock, sourceOptions: { github: { graphql: false, retryBaseMs: 5 } } },
    );
    const npmHits = () => npm.hits.get('/left-pad') ?? 0;
    w.start();
    await vi.waitFor(() => expect(w.status()).toHaveLength(2));
    clock.advance(1_000);
    await vi.waitFor(() => expect(w.pausedUntil('github')).toBeDefined(), { timeout: 10_000 });
    const until = w.pausedUntil('github') ?? 0;
    expect(until).toBeGreaterThan(clock.now() + 500_000);
    expect(gh.state.stats.rateLimited).toBe(1);
    const restAtPause = gh.state.stats.restRequests;
    await vi.waitFor(() => expect(seen.map((s) => s.recipe)).toEqual(['pad']), { timeout: 10_000 });
    for (let i = 0; i < 3; i++) {
      const before = npmHits();
      clock.advance(70_000);
      await vi.waitFor(() => expect(npmHits()).toBeGreaterThan(before), { timeout: 10_000 });
    }
    expect(gh.state.stats.restRequests).toBe(restAtPause);
    expect(seen.map((s) => s.recipe)).toEqual(['pad']);
    // Past the Retry-After (plus the up to 2 s of jitter a paused check gets), GitHub is checked again.
    clock.set(until + 2_001);
    await vi.waitFor(() => expect(seen.map((s) => s.recipe)).toContain('a'), { timeout: 10_000 });
    expect(gh.state.stats.restRequests).toBeGreaterThan(restAtPause);
    expect(w.pausedUntil('github')).toBeUndefined();
    expect(w.status().find((s) => s.recipe === 'a')).toMatchObject({
      failures: 0,
      lastError: undefined,
    });
  });

  it('retries a transient failure later, honouring Retry-After, without holding up other recipes', async () => {
    const { npm } = await servers();
    npm.packages.set('ok', {
      name: 'ok',
      versions: [{ version: '1.0.0', time: '2024-01-01T00:00:00.000Z' }],
    });
    npm.packages.set('flaky', {
      name: 'flaky',
      versions: [{ version: '2.0.0', time: '2024-01-01T00:00:00.000Z' }],
    });
    npm.failures.set('flaky', 503);
    const recipes = [watchedRecipe('ok', { npm: 'ok' }), watchedRecipe('flaky', { npm: 'flaky' })];
    const clock = manualClock();
    const { w, seen } = watcher({ KILN_NPM_REGISTRY: npm.url }, recipes, { clock });
    const outcomes = await w.checkAll();
    expect(outcomes.get('ok')?.ok).toBe(true);
    expect(outcomes.get('flaky')?.ok).toBe(false);
    expect(seen.map((s) => s.recipe)).toEqual(['ok']);
    const flaky = w.status().find((s) => s.recipe === 'flaky');
    expect(flaky?.failures).toBe(1);
    expect(flaky?.lastError).toMatch(/HTTP 503/);
    expect(flaky?.nextDueAt).toBeGreaterThanOrEqual(clock.now() + 120_000);
    npm.failures.delete('flaky');
    expect((await w.checkNow('flaky')).ok).toBe(true);
    expect(w.status().find((s) => s.recipe === 'flaky')?.failures).toBe(0);
  });

  it('keeps validators in Redis: a restarted watcher sends conditional requests and spends no point', async () => {
    const { gh } = await servers();
    for (let i = 0; i < 20; i++) gh.state.addRepo(`o/r${i}`);
    const recipes = Array.from({ length: 20 }, (_, i) =>
      watchedRecipe(`r${i}`, { github: `o/r${i}` }),
    );
    const redis = testRedis();
    cleanup.push(() => redis.quit());
    const env = {
      GITHUB_TOKEN: token,
      KILN_GITHUB_API_URL: gh.apiUrl,
      KILN_QUEUE_PREFIX: uniqueName('restart'),
    };
    const restOnly = { sourceOptions: { github: { graphql: false, retryBaseMs: 5 } }, redis };
    const first = watcher(env, recipes, restOnly);
    await first.w.checkAll();
    await first.w.stop();
    expect(gh.state.stats.restPoints).toBe(20);
    const second = watcher(env, recipes, restOnly);
    const outcomes = await second.w.checkAll();
    expect(gh.state.stats.restPoints).toBe(20);
    expect(gh.state.stats.notModified).toBe(20);
    expect([...outcomes.values()].every((o) => o.ok && o.info.unchanged)).toBe(true);
    // Checks and the rate limit are recorded for /metrics and `kiln status`.
    const signals = await readSignals(redis, env.KILN_QUEUE_PREFIX);
    const count = (outcome: string) =>
      signals.checks.find((c) => c.source === 'github' && c.outcome === outcome)?.count;
    await vi.waitFor(async () => {
      const s = await readSignals(redis, env.KILN_QUEUE_PREFIX);
      expect(s.checks.find((c) => c.outcome === 'not-modified')?.count).toBe(20);
    });
    expect(count('ok')).toBe(20);
    expect(signals.rateLimits.find((r) => r.source === 'github')?.remaining).toBe(
      gh.state.buckets.core.remaining,
    );
    // The restarted watcher still hands the (cached) releases on once.
    expect(second.seen).toHaveLength(20);
    expect(second.seen[0]?.releases).toHaveLength(3);
  });

  it('batches GitHub recipes of one cycle and tells onReleases only about changes', async () => {
    const { gh } = await servers();
    for (let i = 0; i < 250; i++) gh.state.addRepo(`o/r${i}`);
    const recipes = Array.from({ length: 250 }, (_, i) =>
      watchedRecipe(`r${i}`, { github: `o/r${i}`, ...(i % 2 ? { use: 'tags' as const } : {}) }),
    );
    const { w, seen } = watcher({ GITHUB_TOKEN: token, KILN_GITHUB_API_URL: gh.apiUrl }, recipes);
    await w.checkAll();
    expect(gh.state.stats.graphqlRequests).toBe(3);
    expect(gh.state.stats.graphqlPoints).toBe(3);
    expect(seen).toHaveLength(250);
    gh.state.publish('o/r4', 'v5.0.0');
    await w.checkAll();
    expect(seen).toHaveLength(251);
    expect(seen.at(-1)).toMatchObject({ recipe: 'r4' });
    expect(seen.at(-1)?.releases[0]?.version).toBe('5.0.0');
    expect(await w.recipesTracking('github', 'O/R4')).toEqual(['r4']);
  });
});
