import { mkdir, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import type { SuiteSource } from '../../src/debian/sources.ts';
import { fixed } from '../lib/table.ts';
import { aptRoot, aptSimulate, aptUpdate } from './apt.ts';
import { measure, type ProcessCost } from './measure.ts';

/*
 * The resolver beside apt, and whole `kiln build` processes, each measured as a child process
 * (wall, CPU, peak RSS from /usr/bin/time) in the same run.
 */

const repo = path.join(import.meta.dirname, '..', '..');
const mb = (n: number): string => `${fixed(n / 1e6, 0)} MB`;
const sec = (ms: number): string => `${fixed(ms / 1000, 2)} s`;
export const costCells = (c: ProcessCost): string[] => [sec(c.wallMs), sec(c.cpuMs), mb(c.peakRss)];

export interface PackageSetCase {
  name: string;
  recipeFile: string;
  version: string;
  packages: string[];
}

/** A cache folder with the downloaded blobs (indexes, packages) of `from`, and nothing derived. */
export async function coldCache(from: string, dir: string): Promise<string> {
  await rm(dir, { recursive: true, force: true });
  await mkdir(path.join(dir, 'debian'), { recursive: true });
  // Hard links: the same bytes without copying hundreds of MB.
  await execa('cp', ['-al', path.join(from, 'debian', 'blobs'), path.join(dir, 'debian', 'blobs')]);
  return dir;
}

function childEnv(cacheDir: string): Record<string, string> {
  return { ...process.env, KILN_CACHE_DIR: cacheDir, KILN_LOG_LEVEL: 'warn' } as Record<
    string,
    string
  >;
}

interface KilnResolution {
  cost: ProcessCost;
  inside: { ms: number; cpuMs: number; peakRss: number };
  closure: Map<string, string>;
  excluded: { package: string; 'needed-by': string }[];
}

async function kilnResolve(c: PackageSetCase, arch: string, cacheDir: string, noExclude = false) {
  const cost = await measure(
    process.execPath,
    [
      '--import',
      'tsx',
      path.join(import.meta.dirname, 'resolve-child.ts'),
      path.join(repo, 'recipes', c.recipeFile),
      c.version,
      arch,
      ...(noExclude ? ['--no-exclude'] : []),
    ],
    { env: childEnv(cacheDir), cwd: repo },
  );
  if (cost.exitCode !== 0) throw new Error(`kiln resolve ${c.name} failed: ${cost.stderr}`);
  const out = JSON.parse(cost.stdout.trim().split('\n').pop() ?? '{}') as {
    ms: number;
    cpuMs: number;
    peakRss: number;
    packages: [string, string][];
    excluded: KilnResolution['excluded'];
  };
  return {
    cost,
    inside: out,
    closure: new Map(out.packages),
    excluded: out.excluded,
  } satisfies KilnResolution;
}

/** Differences between two closures: only in a, only in b, other version. */
function differences(a: Map<string, string>, b: Map<string, string>): string {
  const onlyA = [...a.keys()].filter((n) => !b.has(n)).sort();
  const onlyB = [...b.keys()].filter((n) => !a.has(n)).sort();
  const versions = [...a]
    .filter(([n, v]) => b.has(n) && b.get(n) !== v)
    .map(([n, v]) => `${n} ${v} vs ${b.get(n)}`);
  const parts = [
    onlyA.length ? `only apt: ${onlyA.join(', ')}` : '',
    onlyB.length ? `only kiln: ${onlyB.join(', ')}` : '',
    versions.length ? `versions differ: ${versions.join(', ')}` : '',
  ].filter(Boolean);
  return parts.length ? parts.join('; ') : 'identical';
}

/**
 * apt-get install --simulate beside kiln's resolution of the same package sets, cold (apt
 * building its binary cache, kiln its compact indexes, both from downloaded lists) and warm.
 */
export async function resolverRows(
  cases: PackageSetCase[],
  sources: SuiteSource[],
  arch: string,
  cacheDir: string,
  work: string,
): Promise<{ rows: string[][]; notes: string[] }> {
  const root = await aptRoot(path.join(work, 'apt'), sources, arch);
  await aptUpdate(root);
  const kilnCache = await coldCache(cacheDir, path.join(work, 'resolve-cache'));
  const rows: string[][] = [];
  const notes: string[] = [];
  const floor = await measure(process.execPath, ['--import', 'tsx', '-e', '0'], { cwd: repo });
  rows.push([
    'node --import tsx -e 0 (start-up floor of the kiln rows)',
    '',
    '',
    ...costCells(floor),
    '',
  ]);
  for (const c of cases) {
    await rm(path.join(work, 'apt', 'cache', 'pkgcache.bin'), { force: true });
    await rm(path.join(work, 'apt', 'cache', 'srcpkgcache.bin'), { force: true });
    const aptCold = await aptSimulate(root, c.packages);
    const aptWarm = await aptSimulate(root, c.packages);
    await rm(path.join(kilnCache, 'debian', 'compact'), { recursive: true, force: true });
    const kilnCold = await kilnResolve(c, arch, kilnCache);
    const kilnWarm = await kilnResolve(c, arch, kilnCache);
    const kilnAll = await kilnResolve(c, arch, kilnCache, true);
    const inside = (k: KilnResolution): string =>
      `${sec(k.inside.ms)} / ${sec(k.inside.cpuMs)} in the resolution`;
    rows.push(
      [
        'apt-get install --simulate',
        c.name,
        'cold (builds pkgcache.bin)',
        ...costCells(aptCold.cost),
        String(aptCold.closure.size),
      ],
      [
        'apt-get install --simulate',
        c.name,
        'warm',
        ...costCells(aptWarm.cost),
        String(aptWarm.closure.size),
      ],
      [
        'kiln resolve (recipe, with exclude)',
        c.name,
        `cold (builds compact indexes; ${inside(kilnCold)})`,
        ...costCells(kilnCold.cost),
        String(kilnCold.closure.size),
      ],
      [
        'kiln resolve (recipe, with exclude)',
        c.name,
        `warm (${inside(kilnWarm)})`,
        ...costCells(kilnWarm.cost),
        String(kilnWarm.closure.size),
      ],
      [
        'kiln resolve (no exclude, like apt)',
        c.name,
        `warm (${inside(kilnAll)})`,
        ...costCells(kilnAll.cost),
        String(kilnAll.closure.size),
      ],
    );
    notes.push(
      `${c.name}: apt vs kiln as the recipe resolves it: ${differences(aptWarm.closure, kilnWarm.closure)} (kiln cuts ${kilnWarm.excluded.map((e) => `${e.package}←${e['needed-by']}`).join(', ') || 'nothing'})`,
      `${c.name}: apt vs kiln without exclude: ${differences(aptWarm.closure, kilnAll.closure)}`,
    );
  }
  return { rows, notes };
}

/**
 * The compiled CLI, built now (scripts/build.js) and run from its own folder: other engineers'
 * edits during the run would otherwise send bin/kiln.js back to the TypeScript sources.
 */
async function compiledCli(): Promise<string> {
  await execa(process.execPath, [path.join(repo, 'scripts', 'build.js')], { cwd: repo });
  const manifest = JSON.parse(
    await readFile(path.join(repo, 'dist', 'manifest.json'), 'utf8'),
  ) as unknown;
  const build =
    typeof manifest === 'object' && manifest !== null && 'build' in manifest
      ? String(manifest.build)
      : '';
  return path.join(repo, 'dist', build, 'cli.js');
}

/** Whole `kiln build` runs as a user starts them: cold (downloads kept, nothing derived), then warm. */
export async function buildRows(
  recipes: { name: string; file: string }[],
  arch: string,
  cacheDir: string,
  work: string,
): Promise<string[][]> {
  const rows: string[][] = [];
  const floor = await measure(process.execPath, ['-e', '0'], { cwd: repo });
  rows.push(['node -e 0 (start-up floor)', '', ...costCells(floor)]);
  const cli = await compiledCli();
  const help = await measure(process.execPath, [cli, '--help'], { cwd: repo });
  rows.push(['kiln --help', '', ...costCells(help)]);
  for (const r of recipes) {
    const cache = await coldCache(cacheDir, path.join(work, `build-cache-${r.name}`));
    for (const state of ['cold (no compact index, no layer cache)', 'warm']) {
      const cost = await measure(
        process.execPath,
        [
          cli,
          'build',
          path.join(repo, 'recipes', r.file),
          '--arch',
          arch,
          '--out',
          path.join(work, `build-out-${r.name}`),
        ],
        { env: childEnv(cache), cwd: repo },
      );
      if (cost.exitCode !== 0) throw new Error(`kiln build ${r.name} failed: ${cost.stderr}`);
      rows.push([`kiln build ${r.name}`, state, ...costCells(cost)]);
    }
  }
  return rows;
}
