import { createHash } from 'node:crypto';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { stringify } from 'yaml';
import { manifestsUnderRoot, writeRootIndex } from '../assemble.ts';
import { runTool } from '../exec.ts';
import { hostArch } from '../host-arch.ts';
import { testInSandbox, type ImageTestRequest } from '../sandbox-tests.ts';
import type { TestOutcome } from '../../model/build-result.ts';
import type { ArchOutput, BuildInput, BuildOutput, Builder } from '../types.ts';
import { apkArchName, apkoConfigFor } from './config.ts';
import { readSpdxPackages } from './sbom.ts';

export interface ApkoBuilderOptions {
  /** Runs the recipe's tests; default the project's bubblewrap sandbox. */
  runTests?: (request: ImageTestRequest) => Promise<TestOutcome[]>;
  /** apko's package cache; default none (apko's own). */
  cacheDir?: string;
}

/** kiln's `apko` builder: a recipe's APK image section, built by apko into an OCI layout. */
export function createApkoBuilder(options: ApkoBuilderOptions = {}): Builder {
  return { id: 'apko', version: '1', build: (input) => buildApko(input, options) };
}

/** Where one apko build writes: its scratch folder (config, SBOMs, test roots) and the layout. */
interface ApkoDirs {
  scratch: string;
  layoutDir: string;
  sbomDir: string;
}

async function buildApko(input: BuildInput, options: ApkoBuilderOptions): Promise<BuildOutput> {
  const dirs = await makeDirs(input.workDir);
  const configText = stringify(apkoConfigFor(input.recipe, input.archs, input.annotations));
  const configFile = path.join(dirs.scratch, 'apko.yaml');
  await writeFile(configFile, configText);
  await runApko(input, options, dirs, configFile);
  const manifests = await manifestsUnderRoot(dirs.layoutDir, input.archs);
  const index = await writeRootIndex(dirs.layoutDir, manifests, input.annotations, input.version);
  const archs: ArchOutput[] = [];
  for (const [arch, manifest] of manifests)
    archs.push(await archOutput(input, options, dirs, arch, manifest));
  await rm(dirs.scratch, { recursive: true, force: true });
  return {
    layoutDir: dirs.layoutDir,
    index,
    archs,
    materials: [
      {
        uri: 'file:apko.yaml',
        digest: { sha256: createHash('sha256').update(configText).digest('hex') },
        name: 'apko config',
      },
    ],
  };
}

async function makeDirs(workDir: string): Promise<ApkoDirs> {
  const scratch = path.join(workDir, 'scratch');
  const dirs = {
    scratch,
    layoutDir: path.join(workDir, 'layout'),
    sbomDir: path.join(scratch, 'sbom'),
  };
  await mkdir(dirs.sbomDir, { recursive: true, mode: 0o700 });
  await mkdir(dirs.layoutDir, { recursive: true });
  return dirs;
}

async function runApko(
  input: BuildInput,
  options: ApkoBuilderOptions,
  dirs: ApkoDirs,
  configFile: string,
): Promise<void> {
  const { recipe, version } = input;
  input.onProgress?.({ stage: 'build', percent: 10, detail: `apko, ${input.archs.join(', ')}` });
  await runTool({
    what: `building ${recipe.name} ${version} (${input.archs.join(', ')}) with apko`,
    file: 'apko',
    args: [
      'build',
      '--vcs=false',
      '--sbom-path',
      dirs.sbomDir,
      ...(options.cacheDir ? ['--cache-dir', options.cacheDir] : []),
      configFile,
      `${recipe.name}:${version}`,
      // An existing folder: apko writes an OCI layout there rather than a tarball.
      dirs.layoutDir,
    ],
    env: { SOURCE_DATE_EPOCH: String(input.sourceDateEpoch) },
    signal: input.signal,
    timeoutMs: input.timeoutMs,
    log: input.log,
    onLine: input.onLogLine,
    classify: ({ tail }) =>
      tail.some((l) => /(connection refused|i\/o timeout|no such host|50[234] )/i.test(l))
        ? 'transient'
        : 'permanent',
  });
}

/** One arch's packages (from apko's SBOM) and test outcomes; tests run on the host arch only. */
async function archOutput(
  input: BuildInput,
  options: ApkoBuilderOptions,
  dirs: ApkoDirs,
  arch: ArchOutput['arch'],
  manifest: ArchOutput['manifest'],
): Promise<ArchOutput> {
  const packages = await readSpdxPackages(
    path.join(dirs.sbomDir, `sbom-${apkArchName(arch)}.spdx.json`),
    arch,
  );
  const named = input.recipe.test.map((t, i) => ({ ...t, name: t.name ?? `test ${i + 1}` }));
  let tests: TestOutcome[] = [];
  if (named.length > 0 && arch !== hostArch()) {
    tests = named.map((t) => ({
      name: t.name,
      status: 'skipped',
      note: `built for ${arch}; tests run on ${hostArch()} only`,
    }));
  } else if (named.length > 0) {
    tests = await (options.runTests ?? testInSandbox)({
      layoutDir: dirs.layoutDir,
      manifest,
      arch,
      tests: named,
      workDir: path.join(dirs.scratch, `test-${arch}`),
      version: input.version,
      signal: input.signal,
      onLogLine: input.onLogLine,
    });
  }
  return { arch, manifest, packages, tests };
}
