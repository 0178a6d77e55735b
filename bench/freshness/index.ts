import { execa } from 'execa';
import path from 'node:path';
import { waitForPort } from '../../src/local-services/ports.ts';
import { makeEnvtoolRepo } from '../../test/helpers/envtool.ts';
import { startLocalGithub } from '../../test/servers/github/server.ts';
import { startLocalNpm } from '../../test/servers/npm.ts';
import { benchStack } from '../lib/stack.ts';
import { fixed } from '../lib/table.ts';
import {
  hook,
  launch,
  makeRecipes,
  publishRelease,
  token,
  type Bench,
  type Kiln,
  type Recipe,
  type Release,
  type Upstreams,
} from './kiln.ts';
import { pythonSizedPackages, pythonSuites } from './python.ts';
import { report } from './report.ts';
import { seconds, treeCpuMs } from './stats.ts';

/*
 * Freshness, the field's headline figure: time from an upstream release's publication to the
 * signed image carrying the new version's tag in the registry. See README.md for the paths, the
 * python-sized image and the statistics of the polling rows.
 */

const fiveMinutes = process.env.BENCH_FIVE_MIN === '1';
const budgetMs = Number(process.env.BENCH_BUDGET_S ?? (fiveMinutes ? 1320 : 1080)) * 1000;
const recipeCount = Math.max(6, Number(process.env.BENCH_RECIPES ?? 20));
const pythonCount = Math.min(recipeCount - 4, Math.max(1, Number(process.env.BENCH_PYTHON ?? 4)));
const pythonRounds = Math.max(1, Number(process.env.BENCH_PYTHON_ROUNDS ?? 2));
const pollRounds = Math.max(1, Number(process.env.BENCH_POLL_ROUNDS ?? 4));
/** What the burst keeps of the budget when the polling rounds are cut short. */
const burstReserveMs = 180_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Waits until every release is tagged or `until`; fails at once if a kiln up has exited. */
async function waitFor(b: Bench, rels: Release[], until: number): Promise<void> {
  while (Date.now() < until && rels.some((r) => r.taggedAt === undefined)) {
    for (const p of b.processes)
      if (p.kiln.exitCode !== null)
        throw new Error(`kiln up exited (${p.kiln.exitCode}):\n${p.out.text}`);
    await sleep(200);
  }
}

/** One watcher of the registry for every pending release: 100 ms apart, as a consumer would poll. */
function watchTags(b: Bench, registry: string): () => Promise<void> {
  let watching = true;
  const tagsOf = async (r: Recipe): Promise<string[]> => {
    const res = await fetch(`http://${registry}/v2/${r.namespace}/${r.name}/tags/list`);
    if (res.status !== 200) return [];
    return ((await res.json()) as { tags: string[] | null }).tags ?? [];
  };
  const loop = (async () => {
    while (watching) {
      const pending = b.releases.filter((r) => r.taggedAt === undefined);
      await Promise.all(
        pending.map(async (rel) => {
          const tags = await tagsOf(rel.recipe).catch((): string[] => []);
          if (tags.includes(`${rel.version}-r0`)) rel.taggedAt ??= Date.now();
        }),
      );
      await sleep(100);
    }
  })();
  return async () => {
    watching = false;
    await loop;
  };
}

/** Runs a phase and records the CPU kiln up's process tree used meanwhile. */
async function phase(b: Bench, label: string, k: Kiln, run: () => Promise<void>): Promise<void> {
  const before = await treeCpuMs(k.kiln.pid);
  const progress = (what: string) =>
    process.stderr.write(
      `[freshness ${fixed((Date.now() - b.started) / 1000, 0)} s] ${label} ${what}\n`,
    );
  progress('started');
  try {
    await run();
  } finally {
    progress('ended');
    b.cpu.set(label, (b.cpu.get(label) ?? 0) + (await treeCpuMs(k.kiln.pid)) - before);
  }
}

function publish(b: Bench, r: Recipe, pathName: string): Release {
  const rel = publishRelease(b.up, r, pathName);
  b.releases.push(rel);
  return rel;
}

/** Waits for kiln up's first images (1.0.0 of every recipe: cold worker, cold cache; not counted). */
async function warmUp(b: Bench, label: string, k: Kiln, rs: Recipe[], until: number) {
  await waitForPort(k.apiPort, '127.0.0.1', 120_000);
  const warmStart = Date.now();
  const initial: Release[] = rs.map((r) => ({
    recipe: r,
    version: '1.0.0',
    path: 'warm-up',
    publishedAt: warmStart,
  }));
  b.releases.push(...initial);
  await waitFor(b, initial, until);
  const warm = initial.filter((r) => r.taggedAt !== undefined).length;
  b.notes.push(
    `warm-up (${label}): ${warm}/${rs.length} recipes (${rs.filter((r) => r.python).length} python-sized) published 1.0.0 in ${seconds(Date.now() - warmStart)} after the API came up (cold worker and cache; not counted)`,
  );
}

/** The compressed size of a published image's amd64 manifest (config and layers) and its layer count. */
async function imageSize(registry: string, r: Recipe, tag: string): Promise<string> {
  const accept =
    'application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json';
  const get = async (ref: string) => {
    const res = await fetch(`http://${registry}/v2/${r.namespace}/${r.name}/manifests/${ref}`, {
      headers: { accept },
    });
    return (await res.json()) as {
      manifests?: { digest: string; platform?: { architecture?: string } }[];
      config?: { size: number };
      layers?: { size: number }[];
    };
  };
  let doc = await get(tag);
  const amd64 = doc.manifests?.find((m) => m.platform?.architecture === 'amd64');
  if (amd64) doc = await get(amd64.digest);
  const bytes = (doc.layers ?? []).reduce((a, l) => a + l.size, doc.config?.size ?? 0);
  return `${r.name}:${tag} is ${fixed(bytes / 1e6, 1)} MB compressed in ${doc.layers?.length ?? 0} layers`;
}

/** Small images: releases at random moments 0.5–3 s apart, each announced at once. */
async function webhookSmall(b: Bench, api: string, small: Recipe[]): Promise<void> {
  const rels: Release[] = [];
  for (const r of small.slice(0, 10)) {
    await sleep(500 + Math.random() * 2500);
    rels.push(publish(b, r, 'webhook'));
    await hook(api, r);
  }
  await waitFor(b, rels, Math.min(b.deadline, Date.now() + 60_000));
}

/** Python-sized images: one release at a time (each waits for the previous tag), announced at once. */
async function webhookPython(b: Bench, api: string, python: Recipe[]): Promise<void> {
  for (let round = 0; round < pythonRounds; round++)
    for (const r of python) {
      const rel = publish(b, r, 'webhook-python');
      await hook(api, r);
      await waitFor(b, [rel], Math.min(b.deadline, Date.now() + 120_000));
      await sleep(500 + Math.random() * 1000);
    }
}

/**
 * Polling, no hook: rounds of one release per recipe, at stratified moments of one interval
 * ((k + U)/n of it, recipes shuffled), so release moments cover the poll cycle evenly. A round
 * starts when the previous one is tagged, so no release is superseded before its poll.
 */
async function polling(b: Bench, label: string, rs: Recipe[], intervalMs: number, rounds: number) {
  for (let round = 0; round < rounds; round++) {
    if (Date.now() + intervalMs * 1.2 + burstReserveMs > b.deadline) {
      b.notes.push(`${label}: ${round} of ${rounds} rounds (the rest did not fit the budget)`);
      return;
    }
    const order = [...rs].sort(() => Math.random() - 0.5);
    const offset = Math.random();
    const start = Date.now();
    const rels: Release[] = [];
    for (const [k, r] of order.entries()) {
      await sleep(Math.max(0, start + ((k + offset) / order.length) * intervalMs - Date.now()));
      rels.push(publish(b, r, label));
    }
    await waitFor(b, rels, Math.max(Date.now(), b.deadline - burstReserveMs));
  }
}

/** One release of every recipe at once, all announced by webhook. */
async function burst(b: Bench, api: string, recipes: Recipe[]): Promise<void> {
  const rels = recipes.map((r) => publish(b, r, 'burst'));
  await Promise.all(recipes.map((r) => hook(api, r)));
  await waitFor(b, rels, b.deadline);
}

async function load(): Promise<string> {
  return (await execa('uptime')).stdout.replace(/^.*load average/, 'load average');
}

/** Registry, Redis, the local repository (envtool and the python closure) and the upstreams. */
async function setUp() {
  const stack = await benchStack({ registry: true });
  const python = await pythonSizedPackages('1.0-1');
  const repo = await makeEnvtoolRepo({
    version: '1.0-1',
    more: { packages: python.packages, suites: pythonSuites },
  });
  const up: Upstreams = {
    npm: await startLocalNpm(),
    github: await startLocalGithub({ tokens: [token] }),
  };
  const registry = stack.registry?.host ?? '';
  const parts = { up, repo, registry, redisUrl: stack.redis.url };
  const what = `registry, Redis, the local repository: ${python.packages.length} trixie packages at real sizes, ${fixed(python.bytes / 1e6, 1)} MB of payload counting every suite's version`;
  const close = async () => {
    await up.npm.close();
    await up.github.close();
    await repo.close();
    await stack.stop();
  };
  return { stack, parts, what, close };
}

/** The recipes and the `kiln up` processes: one at 1 minute, and one at 5 with BENCH_FIVE_MIN=1. */
async function startKilns(b: Bench, parts: Parameters<typeof launch>[0], dir: string) {
  const at = (name: string) => path.join(dir, name);
  const counts = { all: recipeCount, python: pythonCount };
  const recipes = await makeRecipes(b.up, 'fresh', counts, path.join(at('main'), 'recipes'));
  const fast = await launch(parts, at('main'), recipes[0]?.namespace ?? '', '1m');
  b.processes.push(fast);
  if (!fiveMinutes) return { recipes, fast, slowRecipes: [] };
  const slowCounts = { all: 6, python: 0 };
  const slowRecipes = await makeRecipes(b.up, 'slow', slowCounts, path.join(at('slow'), 'recipes'));
  const slow = await launch(parts, at('slow'), slowRecipes[0]?.namespace ?? '', '5m');
  b.processes.push(slow);
  return { recipes, fast, slowRecipes, slow };
}

/** Every path, in order; the 5-minute one (its own kiln up) alongside. */
async function runPaths(
  b: Bench,
  registry: string,
  k: { recipes: Recipe[]; fast: Kiln; slowRecipes: Recipe[]; slow?: Kiln },
): Promise<void> {
  const { recipes, fast, slow, slowRecipes } = k;
  const api = `http://127.0.0.1:${fast.apiPort}`;
  const small = recipes.filter((r) => !r.python);
  const pythons = recipes.filter((r) => r.python);
  const fiveMinutePath = slow
    ? (async () => {
        await warmUp(b, '5 min', slow, slowRecipes, b.started + budgetMs * 0.4);
        await phase(b, 'poll-5m', slow, () => polling(b, 'poll-5m', slowRecipes, 300_000, 1));
      })()
    : undefined;
  fiveMinutePath?.catch(() => undefined);
  await phase(b, 'warm-up', fast, () =>
    warmUp(b, '1 min', fast, recipes, b.started + budgetMs * 0.4),
  );
  const py = pythons[0];
  if (py)
    b.notes.push(
      `python-sized image: ${await imageSize(registry, py, '1.0.0-r0').catch((e: unknown) => String(e))}`,
    );
  await phase(b, 'webhook', fast, () => webhookSmall(b, api, small));
  await phase(b, 'webhook-python', fast, () => webhookPython(b, api, pythons));
  await phase(b, 'poll-1m', fast, () => polling(b, 'poll-1m', small, 60_000, pollRounds));
  await phase(b, 'burst', fast, () => burst(b, api, recipes));
  await fiveMinutePath;
}

async function main(): Promise<void> {
  const setupStart = Date.now();
  const loadBefore = await load();
  const { stack, parts, what, close } = await setUp();
  const started = Date.now();
  const b: Bench = {
    up: parts.up,
    releases: [],
    processes: [],
    cpu: new Map(),
    notes: [`set-up (${what}): ${seconds(started - setupStart)}`],
    started,
    deadline: started + budgetMs,
  };
  const stopWatching = watchTags(b, parts.registry);
  let kilns: Awaited<ReturnType<typeof startKilns>> | undefined;
  try {
    kilns = await startKilns(b, parts, stack.dir);
    await runPaths(b, parts.registry, kilns);
  } finally {
    await stopWatching();
    for (const { kiln } of b.processes) {
      kiln.kill('SIGTERM');
      await Promise.race([kiln, sleep(15_000)]);
      if (kiln.exitCode === null) kiln.kill('SIGKILL');
    }
    await close();
  }
  const load2 = await load();
  report(b, { ...kilns, fiveMinutes, load: [loadBefore, load2] });
}

main().catch((error: unknown) => {
  process.stderr.write(
    `${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exit(1);
});
