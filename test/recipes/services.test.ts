import { readFile, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import tar from 'tar-stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDebianBuilder } from '../../src/build/debian/index.ts';
import { hostArch } from '../../src/build/host-arch.ts';
import { OciLayout } from '../../src/oci/layout.ts';
import type { ImageConfig, ImageManifest } from '../../src/oci/media-types.ts';
import { loadRecipeFile } from '../../src/recipe/index.ts';
import type { Recipe } from '../../src/recipe/schema.ts';
import type { BuildOutput } from '../../src/build/types.ts';
import { testCatalogCacheDir } from '../helpers/stack.ts';
import { buildInput } from '../debian/fixtures.ts';

/*
 * The service and tool recipes (nginx, redis, valkey, postgres, git, curl, jq), built for amd64
 * and arm64 from the real archive through the host's apt sources, each running its own tests
 * under bubblewrap: servers answer on the sandbox's loopback. arm64's tests run under
 * qemu-user-static when binfmt_misc has it with the F flag; elsewhere they are reported as
 * skipped, and this file says so.
 */
const cacheDir = testCatalogCacheDir();
const builder = createDebianBuilder({
  settings: () => ({ cacheDir }),
  sourceDateEpoch: () => undefined,
});

const archs = ['amd64', 'arm64'] as const;
/** Whether an arch's programs run here: the host's own, or one qemu-user-static registers with the F flag. */
const binfmt: Record<string, string> = { amd64: 'qemu-x86_64', arm64: 'qemu-aarch64' };
async function runsHere(arch: string): Promise<boolean> {
  if (arch === hostArch()) return true;
  const entry = await readFile(`/proc/sys/fs/binfmt_misc/${binfmt[arch] ?? '-'}`, 'utf8').catch(() => '');
  return /^enabled$/m.test(entry) && /^flags:.*F/m.test(entry);
}
const runnable = new Map(await Promise.all(archs.map(async (a) => [a, await runsHere(a)] as const)));
for (const [arch, ok] of runnable)
  if (!ok)
    console.warn(
      `services.test.ts: ${arch} programs do not run here (qemu-user-static not registered): its recipe tests are only checked to be reported as skipped`,
    );

interface Entry {
  type: string;
  uid: number;
  mode: number;
  linkname?: string;
}

/** Every path of an image's layers with its type, owner and mode (a later layer wins). */
async function imageEntries(layoutDir: string, manifestDigest: string): Promise<Map<string, Entry>> {
  const layout = new OciLayout(layoutDir);
  const manifest = await layout.readJson<ImageManifest>(manifestDigest);
  const out = new Map<string, Entry>();
  for (const layer of manifest.layers) {
    const extract = tar.extract();
    const done = new Promise<void>((resolve, reject) => {
      extract.on('entry', (h, stream, next) => {
        out.set(h.name.replace(/^\.?\/+|\/+$/g, ''), {
          type: h.type ?? 'file',
          uid: h.uid ?? 0,
          mode: (h.mode ?? 0) & 0o7777,
          ...(h.linkname ? { linkname: h.linkname } : {}),
        });
        stream.on('end', next);
        stream.resume();
      });
      extract.on('finish', resolve);
      extract.on('error', reject);
    });
    const source: Readable = layout.blobStream(layer.digest);
    source.pipe(createGunzip()).pipe(extract);
    await done;
  }
  return out;
}

/** What each image must be, beyond its own tests. */
const images: {
  recipe: string;
  entrypoint: string[];
  tests: number;
  /** Paths the recipe provides, with owner and mode. */
  paths?: Record<string, Partial<Entry>>;
  /** The one image allowed a /bin/sh, and why (see its recipe). */
  shell?: string;
  /** Its tests take minutes under qemu (initdb, ~100 s): KILN_TEST_SKIP_SLOW_EMULATION=1 leaves arm64's out. */
  slowUnderEmulation?: boolean;
}[] = [
  {
    recipe: 'nginx',
    entrypoint: ['/usr/sbin/nginx', '-g', 'daemon off;'],
    tests: 2,
    paths: {
      'etc/nginx/nginx.conf': { type: 'file', uid: 0, mode: 0o644 },
      'var/log/nginx/error.log': { type: 'symlink', linkname: '/dev/stderr' },
    },
  },
  {
    recipe: 'redis',
    entrypoint: ['/usr/bin/redis-server'],
    tests: 2,
    paths: { data: { type: 'directory', uid: 65532, mode: 0o750 } },
  },
  {
    recipe: 'valkey',
    entrypoint: ['/usr/bin/valkey-server'],
    tests: 2,
    paths: { data: { type: 'directory', uid: 65532, mode: 0o750 } },
  },
  {
    recipe: 'postgres',
    entrypoint: ['/usr/lib/postgresql/17/bin/postgres'],
    tests: 3,
    paths: {
      'var/lib/postgresql/data': { type: 'directory', uid: 65532, mode: 0o700 },
      // Debian's socket folder /var/run/postgresql, placed through base-files' var/run -> /run.
      'run/postgresql': { type: 'directory', uid: 65532, mode: 0o2775 },
    },
    shell: 'initdb runs the server through popen(), /bin/sh -c',
    slowUnderEmulation: true,
  },
  { recipe: 'git', entrypoint: ['/usr/bin/git'], tests: 5 },
  { recipe: 'curl', entrypoint: ['/usr/bin/curl'], tests: 2 },
  { recipe: 'jq', entrypoint: ['/usr/bin/jq'], tests: 2 },
];

/** Whether this run leaves out an image's tests on an arch, and says so (see slowUnderEmulation). */
function testsSkipped(image: (typeof images)[number], arch: string): boolean {
  return (
    image.slowUnderEmulation === true &&
    arch !== hostArch() &&
    process.env.KILN_TEST_SKIP_SLOW_EMULATION === '1'
  );
}

/** Both arches' images; an arch whose tests this run leaves out is built on its own without them. */
async function buildBothArches(
  recipe: Recipe,
  image: (typeof images)[number],
  dir: string,
): Promise<Map<string, BuildOutput>> {
  const out = new Map<string, BuildOutput>();
  const tested = archs.filter((a) => !testsSkipped(image, a));
  const untested = archs.filter((a) => testsSkipped(image, a));
  if (tested.length > 0) {
    const built = await builder.build(
      buildInput(recipe, path.join(dir, 'tested'), { archs: [...tested], version: '' }),
    );
    for (const a of tested) out.set(a, built);
  }
  if (untested.length > 0) {
    console.warn(
      `services.test.ts: ${recipe.name} ${untested.join(', ')}: built, its tests skipped (KILN_TEST_SKIP_SLOW_EMULATION=1)`,
    );
    const built = await builder.build(
      buildInput({ ...recipe, test: [] }, path.join(dir, 'untested'), {
        archs: [...untested],
        version: '',
      }),
    );
    for (const a of untested) out.set(a, built);
  }
  return out;
}

const shells = ['bin/sh', 'usr/bin/sh', 'usr/bin/bash', 'usr/bin/dash', 'usr/bin/busybox'];
const packageManagers = ['usr/bin/dpkg', 'usr/bin/apt', 'usr/bin/apt-get'];

describe.skipIf(hostArch() !== 'amd64' && hostArch() !== 'arm64')(
  'service and tool recipes against the real archive, amd64 and arm64',
  () => {
    let work: string;
    beforeAll(async () => {
      work = await mkdtemp(path.join(os.tmpdir(), 'kiln-services-'));
    });
    afterAll(async () => {
      await rm(work, { recursive: true, force: true });
    });

    it.concurrent.each(images)(
      '$recipe: builds for both arches, runs as nonroot with its entrypoint, its tests pass',
      async (image) => {
        const file = path.join(import.meta.dirname, '..', '..', 'recipes', `${image.recipe}.yaml`);
        const loaded = await loadRecipeFile(file);
        expect(loaded.problems).toEqual([]);
        const recipe = loaded.recipe;
        if (!recipe) throw new Error(`recipe ${image.recipe} did not load`);
        expect(recipe.build.archs).toEqual([...archs]);
        expect(recipe.homepage).toMatch(/^https:\/\//);
        expect(recipe.test).toHaveLength(image.tests);
        const outs = await buildBothArches(recipe, image, path.join(work, image.recipe));
        for (const arch of archs) {
          const out = outs.get(arch);
          const built = out?.archs.find((a) => a.arch === arch);
          if (!out || !built) throw new Error(`${image.recipe}: no ${arch} image`);
          const layout = new OciLayout(out.layoutDir);
          const status = runnable.get(arch) ? 'passed' : 'skipped';
          const wanted = testsSkipped(image, arch) ? [] : recipe.test;
          expect(built.tests.map((t) => `${arch} ${t.name}: ${t.status}`)).toEqual(
            wanted.map((t) => `${arch} ${t.name ?? t.run.join(' ')}: ${status}`),
          );
          const manifest = await layout.readJson<ImageManifest>(built.manifest.digest);
          const config = await layout.readJson<ImageConfig>(manifest.config.digest);
          expect(config.architecture).toBe(arch);
          expect(config.config?.User).toBe('65532:65532');
          expect(config.config?.Entrypoint).toEqual(image.entrypoint);
          const entries = await imageEntries(out.layoutDir, built.manifest.digest);
          const names = built.packages.map((p) => p.name);
          expect(names).not.toContain('dpkg');
          expect(names).not.toContain('apt');
          for (const p of packageManagers) expect(entries.has(p), `${arch} ${p}`).toBe(false);
          for (const sh of shells) {
            const allowed = image.shell !== undefined && (sh === 'usr/bin/sh' || sh === 'usr/bin/dash');
            expect(entries.has(sh), `${image.recipe} ${arch} ${sh}`).toBe(allowed);
          }
          for (const [p, want] of Object.entries(image.paths ?? {}))
            expect(entries.get(p), `${image.recipe} ${arch} ${p}`).toMatchObject(want);
        }
      },
      900_000,
    );
  },
);
