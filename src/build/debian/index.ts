import { readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Config } from '../../config.ts';
import { lockfileDigest, serializeLockfile, type Lockfile } from '../../debian/lockfile.ts';
import { hostSuiteSources } from '../../debian/sources.ts';
import { OciLayout } from '../../oci/layout.ts';
import type { LayerEntry } from '../../oci/tar.ts';
import { Annotation, MediaType, type Descriptor } from '../../oci/media-types.ts';
import type { BuildMaterial, BuildPackage, TestOutcome } from '../../model/build-result.ts';
import type { Recipe } from '../../recipe/schema.ts';
import { spdxDocument } from '../../sbom/spdx.ts';
import { hostArch } from '../host-arch.ts';
import type { ArchOutput, Builder, BuildInput, BuildOutput } from '../types.ts';
import type { FileSources } from '../dockerfile/fetch-files.ts';
import { dirEntries } from '../files/dir-entries.ts';
import { accountsOf, type Accounts } from './accounts.ts';
import { debianBuilderVersion } from './builder-version.ts';
import { debPurl, writeArchImage, type ArchImage } from './image.ts';
import { fetchDebs } from './packages.ts';
import { lockfilesFrom } from './resolved.ts';
import { archiveSettingsFromConfig, resolveLockfiles, type ArchiveSettings } from './resolve.ts';
import { recipeForArch } from './paths.ts';

export { debianBuilderVersion };

/**
 * Options of {@link createDebianBuilder}, read at each call (a test's local repository may start
 * after the builder is made); {@link debianBuilderOptions} takes them from kiln's configuration.
 */
export interface DebianBuilderOptions {
  /** Mirrors, keyring and cache folder. */
  settings: () => ArchiveSettings;
  /** SOURCE_DATE_EPOCH of kiln's configuration (not the lead's per-build value, see README). */
  sourceDateEpoch: () => number | undefined;
  /** Where `npm:` and `github:` files come from; default none (npm: the host's configuration). */
  fileSources?: () => FileSources;
}

/** The debian builder's options from kiln's configuration. */
export function debianBuilderOptions(config: Config): DebianBuilderOptions {
  return {
    settings: () => archiveSettingsFromConfig(config),
    sourceDateEpoch: () => config.sourceDateEpoch,
    fileSources: () => ({ githubApiUrl: config.githubApiUrl, npmRegistry: config.npmRegistry }),
  };
}

/** The `debian` builder: distroless images assembled from the signed Debian archive. */
export function createDebianBuilder(options: DebianBuilderOptions): Builder {
  const { settings, sourceDateEpoch } = options;
  const fileSources = options.fileSources ?? (() => ({}));
  return {
    id: 'debian',
    version: debianBuilderVersion,
    async resolve(
      recipe: Recipe,
      _recipeFile: string,
      version: string,
      arch: string,
      signal: AbortSignal,
    ) {
      const lock = (await resolveLockfiles(recipe, version, [arch], settings(), signal)).get(arch);
      if (!lock) throw new Error(`resolving ${recipe.name} for ${arch} gave no lockfile`);
      return { arch, lockfile: lock, lockfileDigest: lockfileDigest(lock) };
    },
    build: (input) => buildDebian(input, settings(), sourceDateEpoch(), fileSources()),
  };
}

/** What every arch of one debian build shares. */
interface DebianJob {
  input: BuildInput;
  settings: ArchiveSettings;
  sourceDateEpoch: number | undefined;
  layoutDir: string;
  layout: OciLayout;
  accounts: Accounts;
  annotations: Record<string, string>;
  /** The recipe's checked `files`, one layer on top of the packages, and their SBOM entries. */
  files: LayerEntry[];
  filePackages: BuildPackage[];
  materials: Map<string, BuildMaterial>;
  progress: NonNullable<BuildInput['onProgress']>;
}

/** Lockfiles → the recipe's files → one image per arch → the index over them. */
async function buildDebian(
  input: BuildInput,
  settings: ArchiveSettings,
  sourceDateEpoch: number | undefined,
  fileSources: FileSources,
): Promise<BuildOutput> {
  const progress = input.onProgress ?? (() => undefined);
  const lockfiles = await lockfilesFor(input, settings, progress);
  const job = await startJob(input, settings, sourceDateEpoch, progress);
  await fetchRecipeFiles(job, fileSources);
  const archs: ArchOutput[] = [];
  for (const arch of input.archs) {
    const lock = lockfiles.get(arch);
    if (!lock) throw new Error(`no lockfile for ${arch}`);
    archs.push(await buildArch(job, arch, lock));
  }
  const index = await job.layout.writeJson(
    {
      schemaVersion: 2,
      mediaType: MediaType.imageIndex,
      manifests: archs.map((a) => a.manifest),
      annotations: job.annotations,
    },
    MediaType.imageIndex,
  );
  await job.layout.setRoot(index, refNameOf(input.version));
  progress({ stage: 'done', percent: 100 });
  return {
    layoutDir: job.layoutDir,
    index,
    archs,
    materials: [...job.materials.values()].sort((a, b) => (a.uri < b.uri ? -1 : 1)),
  };
}

/** The planner's lockfiles, and a fresh resolution of any arch it did not hand over. */
async function lockfilesFor(
  input: BuildInput,
  settings: ArchiveSettings,
  progress: DebianJob['progress'],
): Promise<Map<string, Lockfile>> {
  const lockfiles = lockfilesFrom(input.resolved, input.recipe.name);
  const missing = input.archs.filter((a) => !lockfiles.has(a));
  if (missing.length > 0) {
    progress({ stage: 'resolve', detail: missing.join(',') });
    const fresh = await resolveLockfiles(
      input.recipe,
      input.version,
      missing,
      settings,
      input.signal,
    );
    for (const [arch, lock] of fresh) lockfiles.set(arch, lock);
  }
  return lockfiles;
}

/** An empty OCI layout, and what every arch's image carries. */
async function startJob(
  input: BuildInput,
  settings: ArchiveSettings,
  sourceDateEpoch: number | undefined,
  progress: DebianJob['progress'],
): Promise<DebianJob> {
  const { recipe } = input;
  const layoutDir = path.join(input.workDir, 'oci');
  await rm(layoutDir, { recursive: true, force: true });
  return {
    input,
    settings,
    sourceDateEpoch,
    layoutDir,
    layout: await OciLayout.create(layoutDir),
    accounts: accountsOf(recipe),
    annotations: {
      ...recipe.build.annotations,
      ...input.annotations,
      [Annotation.inputsDigest]: input.inputsDigest,
    },
    files: [],
    filePackages: [],
    materials: new Map(),
    progress,
  };
}

/**
 * src/build/dockerfile/fetch-files.ts, loaded only for a recipe with `files`; like the sandbox
 * (loaded only for a recipe with tests) it brings the process runner, execa, which most builds
 * never use (issue 15).
 */
const fetchFilesLazily: typeof import('../dockerfile/fetch-files.ts').fetchFiles = async (
  ...args
) => (await import('../dockerfile/fetch-files.ts')).fetchFiles(...args);

/**
 * The recipe's `files` (checked against their sha256, checksum file or npm integrity) go into
 * one layer on top of the packages, the same for every arch.
 */
async function fetchRecipeFiles(job: DebianJob, fileSources: FileSources): Promise<void> {
  const { recipe, version, signal, log } = job.input;
  const filesDir = path.join(job.input.workDir, 'files');
  const fetched = recipe.build.files?.length
    ? await fetchFilesLazily(recipe.build.files, {
        ...fileSources,
        version,
        contextDir: filesDir,
        signal,
        log,
      })
    : [];
  job.files = fetched.length > 0 ? await dirEntries(filesDir) : [];
  for (const f of fetched) job.materials.set(f.material.uri, f.material);
  job.filePackages = (recipe.build.files ?? [])
    .filter((f) => f.url.startsWith('npm:'))
    .map((f) => {
      const name = f.url.slice('npm:'.length);
      return { name, version, purl: `pkg:npm/${name.replace('@', '%40')}@${version}` };
    });
}

/** One arch: fetch its packages, assemble the image, write its lockfile and SBOM, test it. */
async function buildArch(job: DebianJob, arch: string, lock: Lockfile): Promise<ArchOutput> {
  const { input, settings, progress } = job;
  const { recipe } = input;
  progress({ stage: `fetch ${arch}`, percent: 10 });
  const sources = await hostSuiteSources(lock.suites, settings);
  const debs = await fetchDebs(lock, sources, settings.cacheDir, { signal: input.signal });
  progress({ stage: `assemble ${arch}`, percent: 40 });
  const image = await writeArchImage({
    layout: job.layout,
    recipe: recipeForArch(recipe, arch),
    lock,
    debs,
    cacheDir: settings.cacheDir,
    accounts: job.accounts,
    annotations: job.annotations,
    sourceDateEpoch: job.sourceDateEpoch,
    files: job.files,
  });
  const packages = [...image.packages, ...job.filePackages];
  await writeArchFiles(job, arch, lock, image, packages);
  for (const p of lock.packages) {
    job.materials.set(p.sha256, {
      uri: debPurl(p.name, p.version, p.arch),
      digest: { sha256: p.sha256 },
      name: p.filename,
    });
  }
  progress({ stage: `test ${arch}`, percent: 80 });
  const tests = await testArch(input, job.layoutDir, image.manifest, arch, settings.cacheDir);
  input.log.info(
    {
      recipe: recipe.name,
      arch,
      manifest: image.manifest.digest,
      layers: image.layers.length,
      cachedLayers: image.layers.filter((l) => l.cached).length,
      packages: lock.packages.length,
    },
    'debian image assembled',
  );
  return { arch, manifest: image.manifest, packages, tests, lockfileDigest: lockfileDigest(lock) };
}

/** `lockfile-<arch>.json` and `sbom-<arch>.spdx.json` beside the layout. */
async function writeArchFiles(
  job: DebianJob,
  arch: string,
  lock: Lockfile,
  image: ArchImage,
  packages: BuildPackage[],
): Promise<void> {
  const { recipe, version } = job.input;
  await writeFile(path.join(job.layoutDir, `lockfile-${arch}.json`), serializeLockfile(lock));
  const sbom = spdxDocument({
    name: `${recipe.name}-${version}-${arch}`,
    digest: image.manifest.digest,
    packages,
    created: image.created,
    toolVersion: debianBuilderVersion,
  });
  await writeFile(
    path.join(job.layoutDir, `sbom-${arch}.spdx.json`),
    `${JSON.stringify(sbom, null, 2)}\n`,
  );
}

/** A valid OCI ref name from a version (`1:2.3+b1` → `1_2.3_b1`). */
function refNameOf(version: string): string {
  const cleaned = version.replace(/[^A-Za-z0-9._-]/g, '_').replace(/^[^A-Za-z0-9_]+/, '');
  return cleaned.slice(0, 128) || 'latest';
}

/** The binfmt_misc entry qemu-user-static registers for a Debian arch (with the F flag it works in bwrap). */
const qemuBinfmt: Record<string, string> = {
  amd64: 'qemu-x86_64',
  arm64: 'qemu-aarch64',
  armhf: 'qemu-arm',
  ppc64el: 'qemu-ppc64le',
  s390x: 'qemu-s390x',
  riscv64: 'qemu-riscv64',
};

export async function canEmulate(arch: string): Promise<boolean> {
  const entry = qemuBinfmt[arch];
  if (!entry) return false;
  const text = await readFile(`/proc/sys/fs/binfmt_misc/${entry}`, 'utf8').catch(() => '');
  return /^enabled$/m.test(text) && /^flags:.*F/m.test(text);
}

/**
 * Runs the recipe's tests with the image's own config on the host's arch, and on other archs
 * when qemu-user-static is registered; otherwise they are skipped with a note.
 */
async function testArch(
  input: BuildInput,
  layoutDir: string,
  manifest: Descriptor,
  arch: string,
  cacheDir: string,
): Promise<TestOutcome[]> {
  const tests = input.recipe.test;
  if (tests.length === 0) return [];
  if (arch !== hostArch() && !(await canEmulate(arch))) {
    return tests.map((t) => ({
      name: t.name ?? t.run.join(' '),
      status: 'skipped',
      note: `built for ${arch}; tests run only on the host's arch (${hostArch()}) unless qemu-user-static is registered`,
    }));
  }
  const { testInSandbox } = await import('../sandbox-tests.ts');
  return testInSandbox({
    layoutDir,
    manifest,
    arch,
    tests,
    workDir: path.join(input.workDir, `test-${arch}`),
    // The unpacked root is kept by manifest digest: a warm build's tests unpack nothing.
    cacheDir,
    version: input.version,
    signal: input.signal,
    onLogLine: input.onLogLine,
  });
}
