import { mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { createDebianBuilder } from '../../src/build/debian/index.ts';
import { archiveSettingsFromConfig, resolveLockfiles } from '../../src/build/debian/resolve.ts';
import { loadConfig } from '../../src/config.ts';
import { hostSuiteSources } from '../../src/debian/sources.ts';
import { createLogger } from '../../src/log.ts';
import { loadRecipeFile } from '../../src/recipe/index.ts';
import type { Recipe } from '../../src/recipe/schema.ts';
import { packagesOfLayout } from '../../src/vuln/image-layout.ts';
import { installedSources } from '../../src/vuln/match.ts';
import { scanImage, type ScanReport } from '../../src/vuln/scan.ts';
import { fixed, printTable } from '../lib/table.ts';
import { testFeedFor, writeFullSizeFeed } from './feed.ts';

/*
 * bench:scan — Chainguard's headline comparison, made by kiln: kiln's `python` (3.13) and
 * `nodejs` (20) images (trixie, built by the debian builder from the real archive with a per-run
 * cache) each beside `debootstrap --variant=minbase` + the same runtime package of the same suite
 * packed as an OCI layout with umoci, all scanned with the same feed: size, package count, open
 * CVEs by urgency, fixable.
 * The feed is a test feed in the tracker's real shape made for the images' source packages;
 * with KILN_VULN_FEED set (the real feed) the same script gives the real figures.
 * KILN_BENCH_<PYTHON|NODEJS>_LAYOUT / KILN_BENCH_<PYTHON|NODEJS>_ROOTFS_LAYOUT use existing OCI
 * layouts instead of building them. Then a feed of realistic size (~70 MB, KILN_BENCH_FEED_MB)
 * is parsed in child processes: kiln's streaming reader beside JSON.parse of the same file.
 */

/** The runtimes compared: kiln's recipe and version, and Debian's package for debootstrap. */
const runtimes = [
  { id: 'python', recipe: 'python', version: '3.13', label: 'python 3.13', deb: 'python3' },
  { id: 'nodejs', recipe: 'nodejs', version: '20', label: 'nodejs 20', deb: 'nodejs' },
] as const;
type Runtime = (typeof runtimes)[number];

const arch = os.arch() === 'arm64' ? 'arm64' : 'amd64';
const mb = (n: number): string => `${fixed(n / 1e6, 1)} MB`;
const log = createLogger({ level: 'warn' });

async function buildKiln(rt: Runtime, work: string, cacheDir: string): Promise<string> {
  const settings = { ...archiveSettingsFromConfig(loadConfig()), cacheDir };
  const loaded = await loadRecipeFile(
    path.join(import.meta.dirname, '..', '..', 'recipes', `${rt.recipe}.yaml`),
  );
  if (!loaded.recipe) throw new Error(`recipes/${rt.recipe}.yaml does not load`);
  const recipe: Recipe = {
    ...loaded.recipe,
    test: [],
    build: { ...loaded.recipe.build, archs: [arch] },
  };
  const lock = (await resolveLockfiles(recipe, rt.version, [arch], settings)).get(arch);
  if (!lock) throw new Error(`no lockfile for ${rt.label}`);
  const builder = createDebianBuilder({
    settings: () => settings,
    sourceDateEpoch: () => undefined,
  });
  const out = await builder.build({
    recipe,
    recipeFile: '',
    version: rt.version,
    epoch: 0,
    archs: [arch],
    inputsDigest: `sha256:${'0'.repeat(64)}`,
    workDir: path.join(work, `${rt.id}-build`),
    signal: new AbortController().signal,
    timeoutMs: 900_000,
    sourceDateEpoch: 0,
    log,
    annotations: {},
    resolved: { [arch]: { arch, lockfile: lock } },
  });
  return out.layoutDir;
}

/** debootstrap minbase + the runtime's package, packed as a one-layer OCI layout with umoci. */
async function debootstrapLayout(rt: Runtime, work: string, cacheDir: string): Promise<string> {
  const [source] = await hostSuiteSources(['trixie'], archiveSettingsFromConfig(loadConfig()));
  if (!source) throw new Error('no trixie mirror in the host apt sources');
  const rootfs = path.join(work, `${rt.id}-rootfs`);
  const debs = path.join(cacheDir, 'debootstrap');
  await mkdir(debs, { recursive: true });
  await execa(
    'debootstrap',
    [
      '--variant=minbase',
      `--cache-dir=${debs}`,
      `--include=${rt.deb}`,
      'trixie',
      rootfs,
      source.mirror,
    ],
    // A shared, loaded machine (load average 25+) has taken more than 15 minutes for one.
    { timeout: 3_600_000 },
  );
  // What an image build would clean: apt's downloaded packages and lists.
  await rm(path.join(rootfs, 'var/cache/apt/archives'), { recursive: true, force: true });
  await rm(path.join(rootfs, 'var/lib/apt/lists'), { recursive: true, force: true });
  const layout = path.join(work, `${rt.id}-debootstrap-layout`);
  await execa('umoci', ['init', '--layout', layout]);
  await execa('umoci', ['new', '--image', `${layout}:latest`]);
  await execa('umoci', ['insert', '--image', `${layout}:latest`, rootfs, '/']);
  await rm(rootfs, { recursive: true, force: true });
  return layout;
}

async function child(mode: string, file: string, wanted: string[]) {
  const r = await execa(
    process.execPath,
    [
      '--import',
      'tsx',
      path.join(import.meta.dirname, 'parse-child.ts'),
      mode,
      file,
      wanted.join(','),
    ],
    { timeout: 900_000 },
  );
  return JSON.parse(r.stdout) as {
    ms: number;
    cpuMs: number;
    peakRssBytes: number;
    heapWithResultBytes: number;
    peakHeapSampledBytes: number;
    kept: number;
  };
}

/** The 1/5/15-minute load averages: the machine is shared, wall times depend on them. */
const loadAverage = (): string =>
  os
    .loadavg()
    .map((l) => fixed(l, 2))
    .join(' / ');

const urgencyCell = (r: ScanReport): string =>
  ['high', 'medium', 'not yet assigned', 'low', 'unimportant', 'end-of-life']
    .map((u) => `${r.summary.byUrgency[u as keyof ScanReport['summary']['byUrgency']] ?? 0}`)
    .join(' / ');

async function main(): Promise<void> {
  const work = await mkdtemp(path.join(os.tmpdir(), 'kiln-bench-scan-'));
  const cacheDir = path.join(work, 'cache');
  try {
    const images: { name: string; dir: string }[] = [];
    for (const rt of runtimes) {
      const env = `KILN_BENCH_${rt.id.toUpperCase()}`;
      images.push({
        name: `kiln ${rt.label}`,
        dir: process.env[`${env}_LAYOUT`] ?? (await buildKiln(rt, work, cacheDir)),
      });
      images.push({
        name: `debootstrap minbase + ${rt.deb}`,
        dir: process.env[`${env}_ROOTFS_LAYOUT`] ?? (await debootstrapLayout(rt, work, cacheDir)),
      });
    }
    const real = loadConfig().vulnFeed;
    let feedPath = '';
    let testFeed: Record<string, unknown> = {};
    if (!real) {
      const sources = [];
      for (const img of images)
        sources.push(...installedSources((await packagesOfLayout(img.dir, arch)).packages));
      testFeed = testFeedFor(sources);
      feedPath = path.join(work, 'test-feed.json');
      await writeFile(feedPath, JSON.stringify(testFeed));
    }
    const vulnFeed = real ?? { kind: 'path' as const, path: feedPath };
    const rows: string[][] = [];
    const wanted = new Set<string>();
    for (const img of images) {
      const start = performance.now();
      const cpu = process.cpuUsage();
      const r = await scanImage({
        target: img.dir,
        arch,
        config: {
          vulnFeed,
          cacheDir,
          registry: undefined,
          registryAuth: undefined,
          insecureRegistries: [],
        },
      });
      const ms = performance.now() - start;
      const used = process.cpuUsage(cpu);
      const cpuMs = (used.user + used.system) / 1000;
      for (const f of (await packagesOfLayout(img.dir, arch)).packages) wanted.add(f.source);
      rows.push([
        img.name,
        mb(r.size),
        String(r.packages),
        String(r.sourcePackages),
        String(r.summary.total),
        urgencyCell(r),
        String(r.summary.fixable),
        `${fixed(ms / 1000, 2)} s`,
        `${fixed(cpuMs / 1000, 2)} s`,
      ]);
    }
    printTable(
      `kiln scan, ${arch}, trixie, feed: ${real ? (real.kind === 'url' ? real.url : real.path) : 'test feed in the tracker shape'}; load average ${loadAverage()}`,
      [
        'image',
        'size (compressed layers)',
        'packages',
        'source packages',
        'open CVEs',
        'high / medium / n.y.a. / low / unimportant / EOL',
        'fixable',
        'scan wall',
        'scan CPU',
      ],
      rows,
    );

    const target = Number(process.env.KILN_BENCH_FEED_MB ?? 70) * 1e6;
    const full = path.join(work, 'full-feed.json');
    const bytes = await writeFullSizeFeed(full, target, testFeed);
    const size = (await stat(full)).size;
    if (size !== bytes) throw new Error('feed size mismatch');
    const measured = [
      ['node + tsx, nothing parsed (floor)', await child('idle', full, [])],
      [
        `kiln readTrackerFeed (streamed, keeps ${wanted.size} sources)`,
        await child('stream', full, [...wanted]),
      ],
      ['JSON.parse of the whole file (baseline)', await child('json-parse', full, [])],
    ] as const;
    printTable(
      `parsing a ${mb(size)} feed in the tracker's shape, each in its own process; load average ${loadAverage()}`,
      [
        'reader',
        'wall',
        'CPU',
        'peak RSS',
        'heap with result alive',
        'peak heap (sampled)',
        'holds',
      ],
      measured.map(([name, m]) => [
        name,
        `${fixed(m.ms / 1000, 2)} s`,
        `${fixed(m.cpuMs / 1000, 2)} s`,
        mb(m.peakRssBytes),
        mb(m.heapWithResultBytes),
        mb(m.peakHeapSampledBytes),
        name.startsWith('kiln')
          ? `${m.kept} CVE entries`
          : name.startsWith('JSON')
            ? `all ${m.kept} sources`
            : '',
      ]),
    );
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

await main();
