import { mkdir, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import type { Config } from '../../config.ts';
import { PermanentError } from '../../errors.ts';
import type { Descriptor } from '../../oci/media-types.ts';
import type { BuildMaterial, BuildPackage, TestOutcome } from '../../model/build-result.ts';
import type { Recipe } from '../../recipe/schema.ts';
import { manifestsByRef, manifestsUnderRoot, writeRootIndex } from '../assemble.ts';
import { isolatedEnv, runTool, type ToolRun } from '../exec.ts';
import { hostArch } from '../host-arch.ts';
import { testInSandbox, type ImageTestRequest } from '../sandbox-tests.ts';
import type { ArchOutput, BuildInput, BuildOutput, Builder } from '../types.ts';
import { baseDigests, resolveBases } from './bases.ts';
import { buildArgs, writeSecrets } from './build-args.ts';
import { budArgs, classifyBuildahFailure, preloadBases, privateStorage } from './buildah.ts';
import { buildctlArgs, classifyBuildkitFailure } from './buildkit.ts';
import { prepareContext } from './context.ts';
import { loadableBases } from './flatten-base.ts';
import { shellsInImage } from './no-shell.ts';
import { sandboxArgs, sandboxEnv } from './sandbox.ts';
import { outputBases } from './stages.ts';

/** Image annotation naming the network `RUN` steps had: `none` (the default) or `host`. */
export const networkAnnotation = 'dev.kiln.build.network';

/** Runs a recipe's tests inside one arch's image; throws when one fails. */
export type ImageTester = (request: ImageTestRequest) => Promise<TestOutcome[]>;

export interface DockerfileBuilderOptions {
  config: Pick<
    Config,
    'dockerfileBackend' | 'buildkitAddr' | 'registry' | 'insecureRegistries' | 'cacheDir'
  >;
  /** Runs the recipe's tests; default the project's bubblewrap sandbox. */
  runTests?: ImageTester;
  /** Where build secrets (KILN_SECRET_*) are read from; default the process environment. */
  env?: NodeJS.ProcessEnv;
}

/** kiln's `dockerfile` builder: a recipe's Dockerfile, on buildah or BuildKit. */
export function createDockerfileBuilder(options: DockerfileBuilderOptions): Builder {
  return {
    id: 'dockerfile',
    // 2: RUN steps isolated (bubblewrap, no network by default), the no-shell check.
    version: '2',
    // The bases' digests go into the inputs digest: a rebuilt base is a new input; so does
    // whether RUN steps had the network.
    resolve: async (recipe, recipeFile, _version, _arch, signal) => ({
      network: recipe.build.dockerfile?.network === true,
      bases: await baseDigests(recipe.build.dockerfile?.bases, {
        recipeDir: path.dirname(path.resolve(recipeFile)),
        registry: options.config.registry,
        insecureRegistries: options.config.insecureRegistries,
        cacheDir: options.config.cacheDir,
        signal,
      }),
    }),
    build: (input) => buildDockerfile(input, options),
  };
}

async function buildDockerfile(
  input: BuildInput,
  options: DockerfileBuilderOptions,
): Promise<BuildOutput> {
  const { recipe, version } = input;
  const spec = recipe.build.dockerfile;
  if (!spec)
    throw new PermanentError(
      `recipe ${recipe.name}: builder dockerfile needs a build.dockerfile section`,
    );
  const deadline = Date.now() + input.timeoutMs;
  const subject = `${recipe.name} ${version}`;
  const scratch = path.join(input.workDir, 'scratch');
  const layoutDir = path.join(input.workDir, 'layout');
  await mkdir(scratch, { recursive: true, mode: 0o700 });
  // The tools' own HOME and TMPDIR: nothing of kiln's environment or home reaches them.
  const home = path.join(scratch, 'home');
  const tmpDir = path.join(scratch, 'tmp');
  await mkdir(home, { recursive: true, mode: 0o700 });
  await mkdir(tmpDir, { recursive: true, mode: 0o700 });
  const network = spec.network === true;
  const annotations = { ...input.annotations, [networkAnnotation]: network ? 'host' : 'none' };
  const tool = (what: string): Omit<ToolRun, 'file' | 'args'> => ({
    what,
    env: isolatedEnv({ home, tmpDir }),
    extendEnv: false,
    signal: input.signal,
    timeoutMs: Math.max(1, deadline - Date.now()),
    log: input.log,
    onLine: input.onLogLine,
  });

  input.onProgress?.({ stage: 'context', percent: 5 });
  const context = await prepareContext({
    recipe,
    recipeFile: input.recipeFile,
    version,
    workDir: scratch,
    signal: input.signal,
    log: input.log,
    onLogLine: input.onLogLine,
  });
  const bases = await resolveBases(spec.bases, {
    recipeDir: path.dirname(path.resolve(input.recipeFile)),
    registry: options.config.registry,
    insecureRegistries: options.config.insecureRegistries,
    cacheDir: scratch,
    pinned: pinnedBases(input.resolved),
    signal: input.signal,
    log: input.log,
  });
  const secrets = await writeSecrets(spec.secrets, path.join(scratch, 'secrets'), options.env);
  const args = buildArgs(spec['build-args'], version, input.sourceDateEpoch, input.log);

  let manifests: Map<string, Descriptor>;
  if (options.config.dockerfileBackend === 'buildkit') {
    if (!options.config.buildkitAddr)
      throw new PermanentError('the buildkit backend needs KILN_BUILDKIT_ADDR');
    input.onProgress?.({
      stage: 'build',
      percent: 10,
      detail: `buildctl, ${input.archs.join(', ')}`,
    });
    await runTool({
      ...tool(`building ${subject} (${input.archs.join(', ')}) with BuildKit`),
      file: 'buildctl',
      args: buildctlArgs({
        addr: options.config.buildkitAddr,
        contextDir: context.contextDir,
        dockerfile: context.dockerfile,
        archs: input.archs,
        outputDir: layoutDir,
        buildArgs: args,
        target: spec.target,
        sourceDateEpoch: input.sourceDateEpoch,
        bases,
        secrets,
        cacheRef: options.config.registry
          ? `${options.config.registry}/${recipe.publish.repository ?? recipe.name}:buildcache`
          : undefined,
        annotations,
        network,
      }),
      classify: classifyBuildkitFailure,
    });
    manifests = await manifestsUnderRoot(layoutDir, input.archs);
  } else {
    const storage = privateStorage(scratch);
    await mkdir(storage.root, { recursive: true, mode: 0o700 });
    await mkdir(storage.runroot, { recursive: true, mode: 0o700 });
    await mkdir(layoutDir, { recursive: true });
    // buildah runs in its own mount, PID and (unless `network: true`) network namespace, and
    // sees only the system's programs and this job's folders (sandbox.ts).
    const sandbox = {
      network,
      home,
      tmpDir,
      readable: [
        context.contextDir,
        path.dirname(context.dockerfile),
        ...new Set(secrets.map((s) => path.dirname(s.file))),
      ],
      writable: [path.dirname(storage.root), layoutDir, home, tmpDir],
    };
    // Build-only bases go in squashed: vfs stores each layer as a full copy of those below it.
    const shipped = outputBases(
      await readFile(context.dockerfile, 'utf8'),
      bases.map((b) => b.name),
      spec.target,
    );
    for (const [i, arch] of input.archs.entries()) {
      input.onProgress?.({
        stage: 'build',
        percent: 10 + Math.round((70 * i) / input.archs.length),
        detail: `buildah, ${arch}`,
      });
      const loadable = await loadableBases(bases, shipped, {
        arch,
        dir: path.join(scratch, 'squashed'),
        mtime: input.sourceDateEpoch,
        log: input.log,
      });
      const baseImages = await preloadBases(
        loadable,
        storage,
        arch,
        tool(`loading bases for ${subject} (${arch})`),
      );
      await runTool({
        ...tool(`building ${subject} for ${arch} with buildah`),
        file: 'bwrap',
        label: 'buildah',
        args: sandboxArgs(
          sandbox,
          'buildah',
          budArgs({
            storage,
            contextDir: context.contextDir,
            dockerfile: context.dockerfile,
            arch,
            layoutDir,
            refName: arch,
            buildArgs: args,
            target: spec.target,
            sourceDateEpoch: input.sourceDateEpoch,
            baseImages,
            secrets,
            annotations,
          }),
        ),
        env: sandboxEnv(sandbox, { SOURCE_DATE_EPOCH: String(input.sourceDateEpoch) }),
        extendEnv: false,
        classify: classifyBuildahFailure,
      });
    }
    manifests = await manifestsByRef(layoutDir, input.archs);
  }
  const index = await writeRootIndex(layoutDir, manifests, annotations, version);

  // Distroless: no shell in the image unless the recipe declares one.
  if (spec.shell !== true) {
    for (const [arch, manifest] of manifests) {
      const shells = await shellsInImage(layoutDir, manifest.digest);
      if (shells.length > 0)
        throw new PermanentError(
          `${subject} (${arch}): the image holds a shell (${shells.map((s) => `/${s}`).join(', ')}); remove it, or set build.dockerfile.shell: true if the image needs one`,
        );
    }
  }

  input.onProgress?.({ stage: 'test', percent: 85 });
  const archs: ArchOutput[] = [];
  for (const [arch, manifest] of manifests) {
    const tests = await testArch(
      recipe,
      arch,
      manifest,
      layoutDir,
      scratch,
      input,
      options.runTests ?? testInSandbox,
    );
    const failed = tests.filter((t) => t.status === 'failed');
    if (failed.length > 0) {
      throw new PermanentError(
        `testing ${subject} (${arch}): ${failed.map((t) => `${t.name} failed${t.note ? `: ${t.note}` : ''}`).join('; ')}`,
      );
    }
    archs.push({ arch, manifest, packages: upstreamPackages(recipe, version, arch), tests });
  }
  // The layout stays for publish; storage, context and secrets go now.
  await rm(scratch, { recursive: true, force: true });
  input.onProgress?.({ stage: 'done', percent: 100 });
  const materials: BuildMaterial[] = [
    ...context.materials,
    ...bases.map((b) => ({
      uri: b.uri,
      digest: { sha256: b.digest.slice('sha256:'.length) },
      name: `base ${b.name}`,
    })),
  ];
  return { layoutDir, index, archs, materials };
}

async function testArch(
  recipe: Recipe,
  arch: string,
  manifest: Descriptor,
  layoutDir: string,
  scratch: string,
  input: BuildInput,
  runTests: ImageTester,
): Promise<TestOutcome[]> {
  const named = recipe.test.map((t, i) => ({ ...t, name: t.name ?? `test ${i + 1}` }));
  if (named.length === 0) return [];
  if (arch !== hostArch())
    return named.map((t) => ({
      name: t.name,
      status: 'skipped',
      note: `built for ${arch}; tests run on ${hostArch()} only`,
    }));
  return runTests({
    layoutDir,
    manifest,
    arch,
    tests: named,
    workDir: path.join(scratch, `test-${arch}`),
    version: input.version,
    signal: input.signal,
    onLogLine: input.onLogLine,
  });
}

const resolvedSchema = z.record(z.string(), z.object({ bases: z.record(z.string(), z.string()) }));

/** The base digests the planner resolved (the same for every arch: they name indexes). */
function pinnedBases(
  resolved: Record<string, unknown> | undefined,
): Record<string, string> | undefined {
  const parsed = resolvedSchema.safeParse(resolved ?? {});
  return parsed.success ? Object.values(parsed.data)[0]?.bases : undefined;
}

/** The upstream project itself, as the SBOM lists it. */
function upstreamPackages(recipe: Recipe, version: string, arch: string): BuildPackage[] {
  const gh = recipe.upstream.github;
  if (gh) {
    const [owner, repo] = gh.split('/');
    return [
      {
        name: repo ?? gh,
        version,
        purl: `pkg:github/${owner}/${repo}@${version}`,
        arch,
        license: recipe.license,
        downloadLocation: recipe.build.files?.[0]?.url.replaceAll('${version}', version),
      },
    ];
  }
  if (recipe.upstream.npm) {
    return [
      {
        name: recipe.upstream.npm,
        version,
        purl: `pkg:npm/${recipe.upstream.npm.replace('@', '%40')}@${version}`,
        arch,
        license: recipe.license,
      },
    ];
  }
  return [];
}
