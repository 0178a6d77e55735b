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

async function buildApko(input: BuildInput, options: ApkoBuilderOptions): Promise<BuildOutput> {
  const { recipe, version } = input;
  const scratch = path.join(input.workDir, 'scratch');
  const layoutDir = path.join(input.workDir, 'layout');
  const sbomDir = path.join(scratch, 'sbom');
  await mkdir(sbomDir, { recursive: true, mode: 0o700 });
  await mkdir(layoutDir, { recursive: true });

  const config = apkoConfigFor(recipe, input.archs, input.annotations);
  const configText = stringify(config);
  const configFile = path.join(scratch, 'apko.yaml');
  await writeFile(configFile, configText);

  input.onProgress?.({ stage: 'build', percent: 10, detail: `apko, ${input.archs.join(', ')}` });
  await runTool({
    what: `building ${recipe.name} ${version} (${input.archs.join(', ')}) with apko`,
    file: 'apko',
    args: [
      'build',
      '--vcs=false',
      '--sbom-path',
      sbomDir,
      ...(options.cacheDir ? ['--cache-dir', options.cacheDir] : []),
      configFile,
      `${recipe.name}:${version}`,
      // An existing folder: apko writes an OCI layout there rather than a tarball.
      layoutDir,
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

  const manifests = await manifestsUnderRoot(layoutDir, input.archs);
  const index = await writeRootIndex(layoutDir, manifests, input.annotations, version);
  const archs: ArchOutput[] = [];
  for (const [arch, manifest] of manifests) {
    const packages = await readSpdxPackages(
      path.join(sbomDir, `sbom-${apkArchName(arch)}.spdx.json`),
      arch,
    );
    const named = recipe.test.map((t, i) => ({ ...t, name: t.name ?? `test ${i + 1}` }));
    let tests: TestOutcome[] = [];
    if (named.length > 0 && arch !== hostArch()) {
      tests = named.map((t) => ({
        name: t.name,
        status: 'skipped',
        note: `built for ${arch}; tests run on ${hostArch()} only`,
      }));
    } else if (named.length > 0) {
      tests = await (options.runTests ?? testInSandbox)({
        layoutDir,
        manifest,
        arch,
        tests: named,
        workDir: path.join(scratch, `test-${arch}`),
        version,
        signal: input.signal,
        onLogLine: input.onLogLine,
      });
    }
    archs.push({ arch, manifest, packages, tests });
  }
  await rm(scratch, { recursive: true, force: true });
  return {
    layoutDir,
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
