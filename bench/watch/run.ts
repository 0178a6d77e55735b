import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../src/config.ts';
import { createLogger } from '../../src/log.ts';
import { recipeSchema } from '../../src/recipe/schema.ts';
import { createWatcher } from '../../src/watch/index.ts';

/*
 * One measured approach, in its own process: N GitHub recipes against the local server, three full
 * cycles (cold, nothing changed, 5% changed). `graphql` and `rest` are one long-lived watcher;
 * `plan` is `kiln plan` (runPlan over N recipe files, no Redis), a fresh one-shot run per cycle.
 * Prints one JSON line per cycle.
 */

const apiUrl = process.env.BENCH_API_URL ?? '';
const count = Number(process.env.BENCH_RECIPES ?? 1000);
const approach =
  (['rest', 'plan'] as const).find((a) => a === process.env.BENCH_APPROACH) ?? 'graphql';
const token = process.env.BENCH_TOKEN ?? 'bench-token';

const startRss = process.memoryUsage.rss();
let peakRss = startRss;
let peakHeap = 0;
let ticks = 0;
// rss() alone is cheap; the full memoryUsage() (heap figures) is sampled less often.
const sampler = setInterval(() => {
  peakRss = Math.max(peakRss, process.memoryUsage.rss());
  if (++ticks % 10 === 0) peakHeap = Math.max(peakHeap, process.memoryUsage().heapUsed);
}, 10);

const control = async (path: string, body?: unknown) => {
  const res = await fetch(`${apiUrl}/_kiln/${path}`, {
    method: 'POST',
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return res.json() as Promise<{
    stats: {
      restRequests: number;
      graphqlRequests: number;
      restPoints: number;
      graphqlPoints: number;
      notModified: number;
    };
  }>;
};

const build = { builder: 'dockerfile', dockerfile: {} };
const recipes = Array.from({ length: count }, (_, i) => ({
  file: `/bench/r${i}.yaml`,
  recipe: recipeSchema.parse({
    name: `r${i}`,
    description: 'bench',
    license: 'MIT',
    upstream: { github: `org${i % 50}/repo${i}` },
    build,
  }),
}));
const log = createLogger({ level: 'silent' });
let notified = 0;
const watcher = createWatcher({
  config: loadConfig({ GITHUB_TOKEN: token, KILN_GITHUB_API_URL: apiUrl }),
  recipes: () => recipes,
  onReleases: () => {
    notified++;
  },
  log,
  sourceOptions: { github: { graphql: approach !== 'rest', restConcurrency: 10 } },
});

// `kiln plan` reads recipe files: the same recipes, written out once (not measured).
const planDir = await mkdtemp(path.join(os.tmpdir(), 'kiln-bench-plan-'));
const planConfig = loadConfig({
  GITHUB_TOKEN: token,
  KILN_GITHUB_API_URL: apiUrl,
  KILN_RECIPES_DIR: path.join(planDir, 'recipes'),
  // An empty state folder: no running `kiln up`'s registry or Redis is picked up.
  KILN_STATE_DIR: path.join(planDir, 'state'),
});
if (approach === 'plan') {
  await mkdir(planConfig.recipesDir, { recursive: true });
  for (const { recipe } of recipes)
    await writeFile(
      path.join(planConfig.recipesDir, `${recipe.name}.yaml`),
      `name: ${recipe.name}\ndescription: bench\nlicense: MIT\nupstream:\n  github: ${recipe.upstream.github ?? ''}\nbuild:\n  builder: dockerfile\n  dockerfile: {}\n`,
    );
}

/** One cycle: the watcher's checkAll, or one `kiln plan` run; the number of failed recipes. */
async function cycle(): Promise<number> {
  if (approach !== 'plan')
    return [...(await watcher.checkAll()).values()].filter((o) => !o.ok).length;
  // Loaded only here, so the watcher rows' RSS does not carry the planner and builders.
  const { runPlan } = await import('../../src/cli/plan.ts');
  const report = await runPlan(planConfig, log, { resolve: false });
  const decisions = report.recipes.flatMap((r) => r.decisions);
  notified = decisions.filter((d) => d.kind === 'build').length;
  return decisions.filter((d) => d.kind === 'error').length;
}

for (const scenario of ['cold', 'unchanged', 'changed-5%'] as const) {
  if (scenario === 'changed-5%') {
    const step = 20;
    const repos = recipes
      .filter((_, i) => i % step === 0)
      .map((r) => r.recipe.upstream.github ?? '');
    await control('publish', { repos, tag: `v9.${Date.now() % 100000}.0` });
  }
  await control('reset-stats');
  notified = 0;
  const started = performance.now();
  const failed = await cycle();
  const wallMs = performance.now() - started;
  const { stats } = await control('stats');
  // With --expose-gc and BENCH_GC=1: what the watcher really keeps between cycles.
  const gc = (globalThis as { gc?: () => void }).gc;
  if (process.env.BENCH_GC && gc) {
    gc();
    process.stderr.write(
      `after ${scenario}: retained heap ${Math.round(process.memoryUsage().heapUsed / 1048576)} MB\n`,
    );
  }
  process.stdout.write(
    `${JSON.stringify({
      approach,
      recipes: count,
      scenario,
      points: stats.restPoints + stats.graphqlPoints,
      requests: stats.restRequests + stats.graphqlRequests,
      notModified: stats.notModified,
      wallMs: Math.round(wallMs),
      notified,
      failed,
      peakRssMb: Math.round(peakRss / 1024 / 1024),
      startRssMb: Math.round(startRss / 1024 / 1024),
      peakHeapMb: Math.round(peakHeap / 1024 / 1024),
    })}\n`,
  );
}
clearInterval(sampler);
await watcher.stop();
await rm(planDir, { recursive: true, force: true });
process.exit(0);
