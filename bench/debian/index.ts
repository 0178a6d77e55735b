import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createDebianBuilder } from '../../src/build/debian/index.ts';
import {
  archiveSettingsFromConfig,
  contentsOf,
  resolveLockfiles,
} from '../../src/build/debian/resolve.ts';
import type { BuildOutput } from '../../src/build/types.ts';
import { loadConfig } from '../../src/config.ts';
import type { Lockfile } from '../../src/debian/lockfile.ts';
import { hostSuiteSources } from '../../src/debian/sources.ts';
import { createLogger } from '../../src/log.ts';
import { OciLayout } from '../../src/oci/layout.ts';
import type { ImageIndex, ImageManifest } from '../../src/oci/media-types.ts';
import { loadRecipeFile } from '../../src/recipe/index.ts';
import type { Recipe } from '../../src/recipe/schema.ts';
import { fixed, printTable } from '../lib/table.ts';
import { debootstrap, gzipFloor, timed, type Debootstrapped } from './baselines.ts';
import { buildRows, resolverRows } from './rows.ts';

/*
 * bench:debian — the debian builder beside its baselines, in one run with a warm package cache:
 * build time and compressed size of `static` and `python` (3.13, trixie) beside
 * `debootstrap --variant=minbase` of the same suite and beside gzipping the same package
 * payloads once; plus the bytes a one-package update rewrites. Host arch only.
 * KILN_BENCH_SKIP_DEBOOTSTRAP=1 skips the (slow) debootstrap baselines. The run drops the
 * builder's derived cache (KILN_CACHE_DIR/debian/{layers,path-index}) to time a build without it;
 * downloaded packages are kept.
 *
 * Then the resolver beside apt (`apt-get install --simulate` in a private apt root over the same
 * trixie suites and mirrors), cold and warm, with the two closures compared; and whole
 * `kiln build static|python` processes, cold (downloads kept, no compact index, no layer cache)
 * and warm, each with wall, CPU and peak RSS. KILN_BENCH_SKIP_APT=1 skips apt and the processes.
 */

const settings = archiveSettingsFromConfig(loadConfig());
const arch = os.arch() === 'arm64' ? 'arm64' : 'amd64';
const log = createLogger({ level: 'warn' });
const mb = (n: number): string => `${fixed(n / 1e6, 2)} MB`;
const sec = (ms: number): string => `${fixed(ms / 1000, 2)} s`;

async function recipe(file: string): Promise<Recipe> {
  const loaded = await loadRecipeFile(path.join(import.meta.dirname, '..', '..', 'recipes', file));
  if (!loaded.recipe) throw new Error(`recipe ${file} does not load`);
  // Tests are not part of the build time (the baselines run none); the suite covers them.
  return { ...loaded.recipe, test: [], build: { ...loaded.recipe.build, archs: [arch] } };
}

async function build(
  r: Recipe,
  version: string,
  lock: Lockfile,
  workDir: string,
): Promise<{ ms: number; cpuMs: number; out: BuildOutput }> {
  const builder = createDebianBuilder({
    settings: () => settings,
    sourceDateEpoch: () => undefined,
  });
  const t = await timed(() =>
    builder.build({
      recipe: r,
      recipeFile: '',
      version,
      epoch: 0,
      archs: [arch],
      inputsDigest: `sha256:${'0'.repeat(64)}`,
      workDir,
      signal: new AbortController().signal,
      timeoutMs: 600_000,
      sourceDateEpoch: 0,
      log,
      annotations: {},
      resolved: { [arch]: { arch, lockfile: lock } },
    }),
  );
  return { ms: t.ms, cpuMs: t.cpuMs, out: t.value };
}

/** Forgets the builder's derived data (path indexes, finished layers), keeping the downloaded packages. */
async function dropLayerCache(): Promise<void> {
  await rm(path.join(settings.cacheDir, 'debian', 'layers'), { recursive: true, force: true });
  await rm(path.join(settings.cacheDir, 'debian', 'path-index'), { recursive: true, force: true });
}

async function layers(out: BuildOutput): Promise<{ digest: string; size: number }[]> {
  const layout = new OciLayout(out.layoutDir);
  const index = await layout.readJson<ImageIndex>(out.index.digest);
  const manifest = await layout.readJson<ImageManifest>(index.manifests[0]?.digest ?? '');
  return [manifest.config, ...manifest.layers].map((d) => ({ digest: d.digest, size: d.size }));
}

const imageBytes = async (out: BuildOutput): Promise<number> =>
  (await layers(out)).reduce((a, l) => a + l.size, 0);

async function main(): Promise<void> {
  const work = await mkdtemp(path.join(os.tmpdir(), 'kiln-bench-debian-'));
  try {
    const images = [
      { name: 'static', recipe: await recipe('static.yaml'), version: '13' },
      { name: 'python', recipe: await recipe('python.yaml'), version: '3.13' },
    ];
    const rows: string[][] = [];
    const locks = new Map<string, Lockfile>();
    const sizes = new Map<string, { ms: number; bytes: number }>();
    for (const img of images) {
      const resolveStart = performance.now();
      const lock = (await resolveLockfiles(img.recipe, img.version, [arch], settings)).get(arch);
      if (!lock) throw new Error(`no lockfile for ${img.name}`);
      const resolveMs = performance.now() - resolveStart;
      locks.set(img.name, lock);
      await build(img.recipe, img.version, lock, path.join(work, `${img.name}-warmup`)); // fills the package cache
      await dropLayerCache();
      const cold = await build(img.recipe, img.version, lock, path.join(work, `${img.name}-cold`));
      const warm = await build(img.recipe, img.version, lock, path.join(work, `${img.name}-warm`));
      if (warm.out.index.digest !== cold.out.index.digest)
        throw new Error(`${img.name}: the layer cache changed the image`);
      const size = await imageBytes(cold.out);
      const floor = await gzipFloor(lock, settings.cacheDir);
      rows.push([
        img.name,
        String(lock.packages.length),
        sec(resolveMs),
        `${sec(cold.ms)} / ${sec(cold.cpuMs)}`,
        `${sec(warm.ms)} / ${sec(warm.cpuMs)}`,
        mb(size),
        `${sec(floor.ms)} / ${sec(floor.cpuMs)}`,
        mb(floor.bytes),
        `${fixed(cold.ms / floor.ms, 2)}× / ${fixed(cold.cpuMs / floor.cpuMs, 2)}×`,
      ]);
      sizes.set(img.name, { ms: cold.ms, bytes: size });
    }
    printTable(
      `debian builder, ${arch}, warm package cache (build from the lockfile; resolve measured separately; times are wall / CPU)`,
      [
        'image',
        'packages',
        'resolve',
        'build, no layer cache',
        'build, warm layer cache',
        'kiln size (gzip layers + config)',
        'gzip floor',
        'gzip floor size',
        'build / floor (no layer cache)',
      ],
      rows,
    );

    if (process.env.KILN_BENCH_SKIP_APT !== '1') {
      const trixie = ['trixie', 'trixie-updates', 'trixie-security'];
      const resolver = await resolverRows(
        images.map((img) => ({
          name: img.name,
          recipeFile: `${img.name}.yaml`,
          version: img.version,
          packages: contentsOf(img.recipe).packages,
        })),
        await hostSuiteSources(trixie, settings),
        arch,
        settings.cacheDir,
        work,
      );
      printTable(
        `resolver beside apt, ${arch}, trixie lists (each a child process: wall / CPU / peak RSS)`,
        ['resolver', 'set', 'state', 'wall', 'CPU', 'peak RSS', 'packages'],
        resolver.rows,
      );
      for (const note of resolver.notes) process.stdout.write(`- ${note}\n`);
      printTable(
        `kiln build as a process, ${arch} (cold: downloaded indexes and packages kept, nothing derived)`,
        ['command', 'state', 'wall', 'CPU', 'peak RSS'],
        await buildRows(
          images.map((img) => ({ name: img.name, file: `${img.name}.yaml` })),
          arch,
          settings.cacheDir,
          work,
        ),
      );
    }

    const baseRows: string[][] = [];
    if (process.env.KILN_BENCH_SKIP_DEBOOTSTRAP !== '1') {
      const [source] = await hostSuiteSources(['trixie'], settings);
      const cache = path.join(settings.cacheDir, 'bench', 'debootstrap');
      await mkdir(cache, { recursive: true });
      // One warm-up with the superset fills debootstrap's cache for both measured runs.
      await debootstrap('trixie', source?.mirror ?? '', ['python3'], work, cache, 480_000);
      for (const [label, include, ours] of [
        ['minbase', [] as string[], 'static'],
        ['minbase + python3', ['python3'], 'python'],
      ] as const) {
        const d: Debootstrapped | string = await debootstrap(
          'trixie',
          source?.mirror ?? '',
          [...include],
          work,
          cache,
          480_000,
        );
        const kiln = sizes.get(ours);
        if (typeof d === 'string' || !kiln)
          baseRows.push([`debootstrap --variant=minbase ${label}`, String(d), '', '', '', '']);
        else {
          baseRows.push([
            `debootstrap --variant=minbase ${label}`,
            sec(d.ms),
            mb(d.du),
            mb(d.targz),
            `${ours}: ${sec(kiln.ms)}, ${mb(kiln.bytes)}`,
            `${fixed((kiln.ms * 100) / d.ms, 1)} % of the time, ${fixed((kiln.bytes * 100) / d.targz, 1)} % of the gzip tar`,
          ]);
        }
      }
      printTable(
        'baseline: debootstrap of the same suite (trixie), warm package cache, sizes without apt caches',
        [
          'baseline',
          'time',
          'rootfs on disk',
          'rootfs as gzip tar',
          'kiln (build without layer cache, size)',
          'kiln / baseline',
        ],
        baseRows,
      );
    }

    // A one-package update: the python lockfile with tzdata taken from a different suite version.
    const lock = locks.get('python');
    const py = images[1];
    if (lock && py) {
      const older = (
        await resolveLockfiles(
          {
            ...py.recipe,
            build: {
              ...py.recipe.build,
              contents: { ...contentsOf(py.recipe), suites: ['trixie'] },
            },
          },
          py.version,
          [arch],
          settings,
        )
      ).get(arch);
      const changed =
        lock.packages.find(
          (p) =>
            older?.packages.some((o) => o.name === p.name && o.sha256 !== p.sha256) &&
            p.name === 'tzdata',
        ) ??
        lock.packages.find((p) =>
          older?.packages.some((o) => o.name === p.name && o.sha256 !== p.sha256),
        );
      const replacement = older?.packages.find((o) => o.name === changed?.name);
      if (changed && replacement) {
        const variant: Lockfile = {
          ...lock,
          packages: lock.packages.map((p) => (p.name === changed.name ? replacement : p)),
        };
        const a = await build(py.recipe, py.version, lock, path.join(work, 'update-a'));
        const b = await build(py.recipe, py.version, variant, path.join(work, 'update-b'));
        const la = await layers(a.out);
        const lb = await layers(b.out);
        const before = new Set(la.map((l) => l.digest));
        const rewritten = lb.filter((l) => !before.has(l.digest));
        const total = lb.reduce((s, l) => s + l.size, 0);
        const rewrittenBytes = rewritten.reduce((s, l) => s + l.size, 0);
        printTable(
          'one-package update (python image)',
          [
            'package changed',
            'blobs rewritten (config + layers)',
            'bytes rewritten',
            'image bytes',
            'share',
          ],
          [
            [
              `${changed.name} ${replacement.version} → ${changed.version}`,
              `${rewritten.length} of ${lb.length}`,
              mb(rewrittenBytes),
              mb(total),
              `${fixed((rewrittenBytes * 100) / total, 2)} %`,
            ],
          ],
        );
      } else {
        process.stdout.write(
          '\n(no package differs between trixie and its update suites today: one-package update not measured)\n',
        );
      }
    }
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

await main();
