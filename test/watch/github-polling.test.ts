import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { createLogger } from '../../src/log.ts';
import type { LoadedRecipe } from '../../src/recipe/index.ts';
import { systemClock, type WatchClock } from '../../src/watch/clock.ts';
import { createWatcher } from '../../src/watch/watcher.ts';
import { testRedis, uniqueName } from '../helpers/stack.ts';
import { startLocalGithub, type LocalGithub } from '../servers/github/server.ts';
import { startLocalNpm, type LocalNpm } from '../servers/npm.ts';
import { watchedRecipe } from '../servers/recipes.ts';

/*
 * The polling path of bench/freshness, on a clock moved by hand: GitHub recipes (batched GraphQL,
 * or REST with ETags kept in Redis) beside npm ones, releases published at stratified moments of
 * the 1-minute interval, some repositories twice in a round. Every release must reach
 * onReleases by its recipe's next check: within one jittered interval (≤ 1.1 × interval) plus,
 * for GitHub, the batch wait (interval / 10). Time only moves while no check is in flight, so the
 * delays are the watcher's own, whatever the machine's load.
 */

const token = 'ghp_pollingtesttoken7';
const intervalMs = 60_000;
const stepMs = 250;
const quiet = createLogger({ level: process.env.KILN_TEST_LOG ?? 'silent' });
const cleanup: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A clock moved by hand that counts reads, so the test knows a tick has seen the new time. */
function countingClock(): WatchClock & { advance(ms: number): void; reads: number } {
  let now = Date.now();
  const clock = {
    reads: 0,
    now: () => {
      clock.reads++;
      return now;
    },
    after: systemClock.after,
    advance: (ms: number) => void (now += ms),
  };
  return clock;
}

interface Fixture {
  gh: LocalGithub;
  npm: LocalNpm;
  recipes: LoadedRecipe[];
  isGithub: (i: number) => boolean;
}

async function fixture(count: number): Promise<Fixture> {
  const gh = await startLocalGithub({ tokens: [token] });
  const npm = await startLocalNpm();
  cleanup.push(
    () => gh.close(),
    () => npm.close(),
  );
  const isGithub = (i: number) => i % 2 === 1;
  const recipes = Array.from({ length: count }, (_, i) => {
    if (isGithub(i)) {
      gh.state.addRepo(`bench/p${i}`, { releases: 1 });
      return watchedRecipe(`p${i}`, { github: `bench/p${i}` });
    }
    npm.packages.set(`p${i}-pkg`, {
      name: `p${i}-pkg`,
      versions: [{ version: '1.0.0', time: '2024-01-01T00:00:00.000Z' }],
    });
    return watchedRecipe(`p${i}`, { npm: `p${i}-pkg` });
  });
  return { gh, npm, recipes, isGithub };
}

describe.each([
  { path: 'GraphQL batches', graphql: true },
  { path: 'REST with ETags in Redis', graphql: false },
])('GitHub polling over $path', ({ graphql }) => {
  it('hands every release on by the next check: one jittered interval, plus the batch wait for GitHub', async () => {
    const count = 12;
    const { gh, npm, recipes, isGithub } = await fixture(count);
    const redis = testRedis();
    cleanup.push(() => redis.quit());
    const clock = countingClock();
    const seenAt = new Map<string, number>();
    const w = createWatcher({
      config: loadConfig({
        KILN_QUEUE_PREFIX: uniqueName('gh-poll'),
        GITHUB_TOKEN: token,
        KILN_GITHUB_API_URL: gh.apiUrl,
        KILN_NPM_REGISTRY: npm.url,
        KILN_POLL_INTERVAL: '1m',
      }),
      redis,
      recipes: () => recipes,
      onReleases: (loaded, releases) => {
        for (const r of releases) {
          const key = `${loaded.recipe.name}@${r.version}`;
          if (!seenAt.has(key)) seenAt.set(key, clock.now());
        }
      },
      log: quiet,
      tickMs: 2,
      // Recipes do not change: every tick then reads the clock exactly twice before dispatching.
      recipesRefreshMs: 3_600_000,
      sourceOptions: { github: { graphql, retryBaseMs: 5 } },
      clock,
    });
    cleanup.push(() => w.stop());
    // One step of the clock: wait until a tick has read the new time, then until its checks ended.
    // How long past its due time each check went out (GitHub's batch wait; npm's at most a step).
    const waits: { recipe: string; waitMs: number }[] = [];
    const step = async () => {
      const before = new Map(w.status().map((s) => [s.recipe, s]));
      clock.advance(stepMs);
      const reads = clock.reads;
      for (let i = 0; i < 5000 && clock.reads < reads + 2; i++) await sleep(1);
      for (let i = 0; i < 5000 && w.status().some((s) => s.running); i++) await sleep(1);
      for (const s of w.status()) {
        const prev = before.get(s.recipe);
        if (prev?.lastCheckedAt !== undefined && s.lastCheckedAt !== prev.lastCheckedAt)
          waits.push({ recipe: s.recipe, waitMs: (s.lastCheckedAt ?? 0) - prev.nextDueAt });
      }
    };
    w.start();
    for (let t = 0; t < 10_000; t += stepMs) await step();
    expect(w.status().every((s) => s.lastCheckedAt !== undefined)).toBe(true);

    const published: { key: string; at: number; github: boolean }[] = [];
    const minor = new Array<number>(count).fill(0);
    const publish = (i: number) => {
      minor[i] = (minor[i] ?? 0) + 1;
      const version = `1.${minor[i]}.0`;
      const at = new Date(clock.now());
      if (isGithub(i)) gh.state.publish(`bench/p${i}`, `v${version}`, { at });
      else npm.packages.get(`p${i}-pkg`)?.versions.push({ version, time: at.toISOString() });
      published.push({ key: `p${i}@${version}`, at: at.getTime(), github: isGithub(i) });
    };
    for (let round = 0; round < 3; round++) {
      // Stratified moments over one interval, as the bench's rounds; p1 and p3 publish twice.
      const moments = recipes.map((_, i) => ({ i, at: ((i * 7 + round * 5) % count) + 0.5 }));
      moments.push({ i: 1, at: moments[1]!.at + 0.1 }, { i: 3, at: moments[3]!.at + 4 });
      const start = clock.now();
      for (let t = 0; t < intervalMs * 1.5; t += stepMs) {
        for (const m of moments) {
          const at = start + (m.at / count) * intervalMs;
          if (at > clock.now() && at <= clock.now() + stepMs) publish(m.i);
        }
        await step();
      }
    }
    for (let t = 0; t < intervalMs * 1.3; t += stepMs) await step();

    const late = published
      .map((p) => ({ ...p, delay: (seenAt.get(p.key) ?? Infinity) - p.at }))
      .filter((p) => p.delay > intervalMs * 1.1 + (p.github ? intervalMs / 10 : 0) + 2 * stepMs);
    expect(late).toEqual([]);
    // A due GitHub check waits at most batchDelayMs (interval / 10) from the oldest due check of
    // its batch, so no check waits longer; npm checks go out on the first tick past their time.
    const isGithubRecipe = (name: string) => isGithub(Number(name.slice(1)));
    expect(waits.length).toBeGreaterThan(count * 3);
    expect(
      waits.filter((x) => x.waitMs > (isGithubRecipe(x.recipe) ? intervalMs / 10 : 0) + stepMs),
    ).toEqual([]);
    expect(published.filter((p) => p.github)).toHaveLength(3 * 8);
  }, 300_000);
});
