import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { loadConfig } from '../../src/config.ts';
import { hostSuiteSources } from '../../src/debian/sources.ts';
import { loadRecipeFile } from '../../src/recipe/load.ts';
import type { Recipe } from '../../src/recipe/schema.ts';
import { hasStreamContents, streamRecipes } from '../../src/recipe/streams.ts';
import { debootstrap } from '../debian/baselines.ts';
import { fixed, printTable } from '../lib/table.ts';
import { distrolessSizes } from './distroless.ts';
import { layoutVersion, sizesByArch } from './layout-size.ts';

/*
 * bench:catalog — every shipped Debian image beside what a user would pick instead, in one run:
 * its compressed size per arch (built by `kiln build`, the recipe's own tests included), the
 * compressed size of `debootstrap --variant=minbase` of the same suite plus the same packages
 * (the "full distro" alternative, host arch, warm debootstrap cache), the ratio of the two, and
 * Google distroless's published size where it has the image.
 *
 * KILN_BENCH_ARCHS (default amd64,arm64) picks the archs; KILN_BENCH_RECIPES (comma separated)
 * a subset of recipes; KILN_BENCH_SKIP_DEBOOTSTRAP=1 skips the baseline and
 * KILN_BENCH_DEBOOTSTRAP_CACHE moves its package cache (one per concurrent run); KILN_BENCH_JSON=<file>
 * also writes the rows as JSON. Each row is printed to stderr as soon as it is measured, so a run
 * cut short still leaves what it measured.
 */

const repo = path.join(import.meta.dirname, '..', '..');
const kiln = path.join(repo, 'bin', 'kiln.js');
const hostArch = os.arch() === 'arm64' ? 'arm64' : 'amd64';
const mib = (n: number): string => `${fixed(n / 1024 / 1024, 2)} MiB`;
const wanted = (name: string): string[] | undefined =>
  process.env[name]
    ?.split(',')
    .map((s) => s.trim())
    .filter(Boolean);
/** Images whose size the issue sets a ratio goal for: under 25% of minbase plus the same packages. */
const ratioGoal = new Set(['static', 'base', 'cc', 'python']);

interface Row {
  name: string;
  sizes: Map<string, number>;
  error?: string;
  minbase?: number | string;
  /** `kiln build`'s wall time and the CPU time it and its children used (user + system). */
  buildWallMs?: number;
  buildCpuMs?: number;
  /** The upstream version `kiln build` chose (its newest), which says which stream was built. */
  version?: string;
}

/**
 * CPU time (user + system, ms) of this process's waited-for children, from /proc/self/stat's
 * cutime and cstime: `kiln build` and everything it ran (bubblewrap, qemu, gzip). Linux only.
 */
async function childrenCpuMs(): Promise<number> {
  const stat = await readFile('/proc/self/stat', 'utf8');
  // Fields after the command name (which may hold spaces) start at field 3; cutime is field 16.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[13]) + Number(fields[14]);
  return (ticks * 1000) / 100;
}

async function debianRecipes(): Promise<{ file: string; recipe: Recipe }[]> {
  const dir = path.join(repo, 'recipes');
  const only = wanted('KILN_BENCH_RECIPES');
  const out = [];
  for (const name of (await readdir(dir)).filter((f) => f.endsWith('.yaml')).sort()) {
    const loaded = await loadRecipeFile(path.join(dir, name));
    if (!loaded.recipe || loaded.recipe.build.builder !== 'debian') continue;
    if (only && !only.includes(loaded.recipe.name)) continue;
    out.push({ file: loaded.file, recipe: loaded.recipe });
  }
  return out;
}

async function build(file: string, recipe: Recipe, out: string): Promise<Row> {
  const archs = (wanted('KILN_BENCH_ARCHS') ?? ['amd64', 'arm64']).filter((a) =>
    recipe.build.archs.some((x) => x === a),
  );
  const cpuBefore = await childrenCpuMs();
  const start = performance.now();
  const run = await execa('node', [kiln, 'build', file, '--arch', archs.join(','), '--out', out], {
    reject: false,
    all: true,
    env: { KILN_LOG_LEVEL: 'warn' },
  });
  const timing = {
    buildWallMs: performance.now() - start,
    buildCpuMs: (await childrenCpuMs()) - cpuBefore,
  };
  if (run.exitCode !== 0) {
    const tail = (run.all ?? '').trim().split('\n').slice(-2).join(' ');
    return { name: recipe.name, sizes: new Map(), error: `build failed: ${tail}`, ...timing };
  }
  const version = await layoutVersion(out);
  return {
    name: recipe.name,
    sizes: await sizesByArch(out),
    ...timing,
    ...(version ? { version } : {}),
  };
}

/**
 * The recipe as the stream of `version` has it (`${stream}` in its packages filled in): the
 * stream whose name the version starts with, as java's 21 and 25 do.
 */
function builtStream(recipe: Recipe, version: string | undefined): Recipe {
  if (!hasStreamContents(recipe) || version === undefined) return recipe;
  const streams = streamRecipes(recipe);
  const named = (r: Recipe) => r.stream?.name ?? '';
  return (
    streams.find((r) => version.startsWith(`${named(r)}.`) || version.startsWith(`${named(r)}+`)) ??
    recipe
  );
}

async function minbasePlus(recipe: Recipe, work: string): Promise<number | string> {
  const contents = recipe.build.contents;
  const suite = contents?.suites[0];
  if (!contents || !suite) return 'no contents';
  const config = loadConfig();
  const [source] = await hostSuiteSources([suite], config);
  const cache =
    process.env.KILN_BENCH_DEBOOTSTRAP_CACHE ?? path.join(config.cacheDir, 'bench', 'debootstrap');
  await mkdir(cache, { recursive: true });
  const d = await debootstrap(suite, source?.mirror ?? '', contents.packages, work, cache, 900_000);
  return typeof d === 'string' ? d : d.targz;
}

function cells(row: Row, archs: string[]): string[] {
  const kilnHost = row.sizes.get(hostArch);
  const distroless = distrolessSizes.get(row.name);
  const minbase = row.minbase;
  const ratio =
    typeof minbase === 'number' && kilnHost !== undefined ? kilnHost / minbase : undefined;
  const goals: string[] = [];
  if (distroless && kilnHost !== undefined)
    goals.push(kilnHost <= distroless.bytes ? '≤ distroless' : '> distroless');
  if (ratioGoal.has(row.name) && ratio !== undefined)
    goals.push(ratio < 0.25 ? '< 25% of minbase' : '≥ 25% of minbase');
  return [
    row.name,
    ...archs.map((a) => {
      const size = row.sizes.get(a);
      return size === undefined ? (row.error ?? '—') : mib(size);
    }),
    typeof minbase === 'number' ? mib(minbase) : (minbase ?? '—'),
    ratio === undefined ? '—' : `${fixed(ratio * 100, 1)}%`,
    distroless ? `${mib(distroless.bytes)} (${distroless.image})` : '—',
    goals.join(', ') || '—',
    row.buildWallMs === undefined
      ? '—'
      : `${fixed(row.buildWallMs / 1000, 0)} s / ${fixed((row.buildCpuMs ?? 0) / 1000, 0)} s`,
  ];
}

const loadAverage = (): string =>
  os
    .loadavg()
    .map((l) => fixed(l, 1))
    .join(' ');

async function main(): Promise<void> {
  const work = await mkdtemp(path.join(os.tmpdir(), 'kiln-bench-catalog-'));
  const archs = wanted('KILN_BENCH_ARCHS') ?? ['amd64', 'arm64'];
  const loadAtStart = loadAverage();
  try {
    const rows: Row[] = [];
    for (const { file, recipe } of await debianRecipes()) {
      process.stderr.write(`bench:catalog: building ${recipe.name}\n`);
      const row = await build(file, recipe, path.join(work, recipe.name));
      await rm(path.join(work, recipe.name), { recursive: true, force: true });
      if (process.env.KILN_BENCH_SKIP_DEBOOTSTRAP !== '1') {
        process.stderr.write(`bench:catalog: debootstrap minbase + ${recipe.name}'s packages\n`);
        row.minbase = await minbasePlus(builtStream(recipe, row.version), work);
      }
      rows.push(row);
      process.stderr.write(`bench:catalog: | ${cells(row, archs).join(' | ')} |\n`);
    }
    if (process.env.KILN_BENCH_JSON) {
      const json = rows.map((r) => ({ ...r, sizes: Object.fromEntries(r.sizes) }));
      await writeFile(process.env.KILN_BENCH_JSON, `${JSON.stringify(json, null, 2)}\n`);
    }
    printTable(
      `catalog sizes: compressed (config + layers, what a pull downloads); minbase is debootstrap --variant=minbase of the recipe's first suite plus its packages, ${hostArch}, gzip tar without apt caches; ratio is kiln (${hostArch}) / minbase; build is kiln build's wall / CPU time (all archs, tests included; ${os.cpus().length} CPUs, load average ${loadAtStart} at start, ${loadAverage()} at end)`,
      [
        'image',
        ...archs.map((a) => `kiln ${a}`),
        'minbase + same packages',
        'ratio',
        'distroless (published)',
        'goals',
        'build wall / CPU',
      ],
      rows.map((r) => cells(r, archs)),
    );
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

await main();
