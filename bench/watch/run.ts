import { loadConfig } from '../../src/config.ts';
import { createLogger } from '../../src/log.ts';
import { recipeSchema } from '../../src/recipe/schema.ts';
import { createWatcher } from '../../src/watch/index.ts';

/*
 * One measured watcher, in its own process: N GitHub recipes against the local server, three full
 * cycles (cold, nothing changed, 5% changed). Prints one JSON line per cycle.
 */

const apiUrl = process.env.BENCH_API_URL ?? '';
const count = Number(process.env.BENCH_RECIPES ?? 1000);
const approach = process.env.BENCH_APPROACH === 'rest' ? 'rest' : 'graphql';
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
let notified = 0;
const watcher = createWatcher({
  config: loadConfig({ GITHUB_TOKEN: token, KILN_GITHUB_API_URL: apiUrl }),
  recipes: () => recipes,
  onReleases: () => {
    notified++;
  },
  log: createLogger({ level: 'silent' }),
  sourceOptions: { github: { graphql: approach === 'graphql', restConcurrency: 10 } },
});

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
  const outcomes = await watcher.checkAll();
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
  const failed = [...outcomes.values()].filter((o) => !o.ok).length;
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
process.exit(0);
