import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import type { Config } from '../../config.ts';
import { PermanentError } from '../../errors.ts';
import type { Descriptor } from '../../oci/media-types.ts';
import type { BuildMaterial, BuildPackage, TestOutcome } from '../../model/build-result.ts';
import type { Recipe } from '../../recipe/schema.ts';
import { writeRootIndex } from '../assemble.ts';
import { isolatedEnv, type ToolRun } from '../exec.ts';
import { hostArch } from '../host-arch.ts';
import { testInSandbox, type ImageTestRequest } from '../sandbox-tests.ts';
import type { ArchOutput, BuildInput, BuildOutput, Builder } from '../types.ts';
import { baseDigests, resolveBases, type ResolvedBase } from './bases.ts';
import { buildArgs, writeSecrets, type SecretFile } from './build-args.ts';
import { prepareContext, type PreparedContext } from './context.ts';
import type { FileSources } from './fetch-files.ts';
import { shellsInImage } from './no-shell.ts';
import { pinnedBases } from './resolved.ts';
import type { DockerfileRun, DockerfileRunner } from './runner.ts';
import { getRunner } from './runners.ts';

type DockerfileSpec = NonNullable<Recipe['build']['dockerfile']>;

/** Image annotation naming the network `RUN` steps had: `none` (the default) or `host`. */
export const networkAnnotation = 'dev.kiln.build.network';

/** Runs a recipe's tests inside one arch's image; throws when one fails. */
export type ImageTester = (request: ImageTestRequest) => Promise<TestOutcome[]>;

export interface DockerfileBuilderOptions {
  /** kiln's configuration; without `githubApiUrl` a recipe's `github:` files are refused. */
  config: Pick<
    Config,
    'dockerfileBackend' | 'buildkitAddr' | 'registry' | 'insecureRegistries' | 'cacheDir'
  > &
    FileSources;
  /** Runs the recipe's tests; default the project's bubblewrap sandbox. */
  runTests?: ImageTester;
  /** Where build secrets (KILN_SECRET_*) are read from; default the process environment. */
  env?: NodeJS.ProcessEnv;
}

/** kiln's `dockerfile` builder: a recipe's Dockerfile, on buildah or BuildKit (runners/). */
export function createDockerfileBuilder(options: DockerfileBuilderOptions): Builder {
  const runner = getRunner(options.config.dockerfileBackend, options.config);
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
    build: (input) => buildDockerfile(input, options, runner),
  };
}

/** One build's folders and shared settings, fixed when it starts. */
interface DockerfileJob {
  spec: DockerfileSpec;
  subject: string;
  scratch: string;
  layoutDir: string;
  home: string;
  tmpDir: string;
  network: boolean;
  annotations: Record<string, string>;
  tool: (what: string) => Omit<ToolRun, 'file' | 'args'>;
}

/** What goes into the backend besides the Dockerfile: context, bases, secrets and build args. */
interface DockerfileInputs {
  context: PreparedContext;
  bases: ResolvedBase[];
  secrets: SecretFile[];
  args: [string, string][];
}

/** Prepare the job and its inputs, run the backend, check and test the images, hand them over. */
async function buildDockerfile(
  input: BuildInput,
  options: DockerfileBuilderOptions,
  runner: DockerfileRunner,
): Promise<BuildOutput> {
  const job = await startJob(input);
  input.onProgress?.({ stage: 'context', percent: 5 });
  const inputs = await gatherInputs(job, input, options);
  const manifests = await runner.build(backendRun(job, inputs, input));
  const index = await writeRootIndex(job.layoutDir, manifests, job.annotations, input.version);
  await refuseShells(job, manifests);
  input.onProgress?.({ stage: 'test', percent: 85 });
  const archs = await testImages(job, input, manifests, options.runTests ?? testInSandbox);
  // The layout stays for publish; storage, context and secrets go now.
  await rm(job.scratch, { recursive: true, force: true });
  input.onProgress?.({ stage: 'done', percent: 100 });
  return { layoutDir: job.layoutDir, index, archs, materials: materialsOf(inputs) };
}

/** The job's private folders, and the clean settings every tool it runs gets. */
async function startJob(input: BuildInput): Promise<DockerfileJob> {
  const { recipe, version } = input;
  const spec = recipe.build.dockerfile;
  if (!spec)
    throw new PermanentError(
      `recipe ${recipe.name}: builder dockerfile needs a build.dockerfile section`,
    );
  const deadline = Date.now() + input.timeoutMs;
  const scratch = path.join(input.workDir, 'scratch');
  await mkdir(scratch, { recursive: true, mode: 0o700 });
  // The tools' own HOME and TMPDIR: nothing of kiln's environment or home reaches them.
  const home = path.join(scratch, 'home');
  const tmpDir = path.join(scratch, 'tmp');
  await mkdir(home, { recursive: true, mode: 0o700 });
  await mkdir(tmpDir, { recursive: true, mode: 0o700 });
  const network = spec.network === true;
  return {
    spec,
    subject: `${recipe.name} ${version}`,
    scratch,
    layoutDir: path.join(input.workDir, 'layout'),
    home,
    tmpDir,
    network,
    annotations: { ...input.annotations, [networkAnnotation]: network ? 'host' : 'none' },
    tool: (what) => ({
      what,
      env: isolatedEnv({ home, tmpDir }),
      extendEnv: false,
      signal: input.signal,
      timeoutMs: Math.max(1, deadline - Date.now()),
      log: input.log,
      onLine: input.onLogLine,
    }),
  };
}

/** The context (files fetched, patches applied), the bases at their digests, secrets, args. */
async function gatherInputs(
  job: DockerfileJob,
  input: BuildInput,
  options: DockerfileBuilderOptions,
): Promise<DockerfileInputs> {
  const { recipe, version } = input;
  const context = await prepareContext({
    recipe,
    recipeFile: input.recipeFile,
    version,
    workDir: job.scratch,
    sources: { githubApiUrl: options.config.githubApiUrl, npmRegistry: options.config.npmRegistry },
    signal: input.signal,
    log: input.log,
    onLogLine: input.onLogLine,
  });
  const bases = await resolveBases(job.spec.bases, {
    recipeDir: path.dirname(path.resolve(input.recipeFile)),
    registry: options.config.registry,
    insecureRegistries: options.config.insecureRegistries,
    cacheDir: job.scratch,
    pinned: pinnedBases(input.resolved, recipe.name),
    signal: input.signal,
    log: input.log,
  });
  const secrets = await writeSecrets(
    job.spec.secrets,
    path.join(job.scratch, 'secrets'),
    options.env,
  );
  const args = buildArgs(job.spec['build-args'], version, input.sourceDateEpoch, input.log);
  return { context, bases, secrets, args };
}

/** What the backend is asked to build. */
function backendRun(
  job: DockerfileJob,
  inputs: DockerfileInputs,
  input: BuildInput,
): DockerfileRun {
  return {
    subject: job.subject,
    repository: input.recipe.publish.repository ?? input.recipe.name,
    archs: input.archs,
    contextDir: inputs.context.contextDir,
    dockerfile: inputs.context.dockerfile,
    layoutDir: job.layoutDir,
    scratch: job.scratch,
    home: job.home,
    tmpDir: job.tmpDir,
    buildArgs: inputs.args,
    target: job.spec.target,
    sourceDateEpoch: input.sourceDateEpoch,
    bases: inputs.bases,
    secrets: inputs.secrets,
    annotations: job.annotations,
    network: job.network,
    tool: job.tool,
    log: input.log,
    onProgress: input.onProgress,
  };
}

/** Distroless: no shell in the image unless the recipe declares one. */
async function refuseShells(job: DockerfileJob, manifests: Map<string, Descriptor>): Promise<void> {
  if (job.spec.shell === true) return;
  for (const [arch, manifest] of manifests) {
    const shells = await shellsInImage(job.layoutDir, manifest.digest);
    if (shells.length > 0)
      throw new PermanentError(
        `${job.subject} (${arch}): the image holds a shell (${shells.map((s) => `/${s}`).join(', ')}); remove it, or set build.dockerfile.shell: true if the image needs one`,
      );
  }
}

/** Each arch's image with its test outcomes; a failed test fails the build. */
async function testImages(
  job: DockerfileJob,
  input: BuildInput,
  manifests: Map<string, Descriptor>,
  runTests: ImageTester,
): Promise<ArchOutput[]> {
  const { recipe, version } = input;
  const archs: ArchOutput[] = [];
  for (const [arch, manifest] of manifests) {
    const tests = await testArch(
      recipe,
      arch,
      manifest,
      job.layoutDir,
      job.scratch,
      input,
      runTests,
    );
    const failed = tests.filter((t) => t.status === 'failed');
    if (failed.length > 0) {
      throw new PermanentError(
        `testing ${job.subject} (${arch}): ${failed.map((t) => `${t.name} failed${t.note ? `: ${t.note}` : ''}`).join('; ')}`,
      );
    }
    archs.push({ arch, manifest, packages: upstreamPackages(recipe, version, arch), tests });
  }
  return archs;
}

/** What went in: fetched files, patches, the Dockerfile, and each base at its digest. */
function materialsOf(inputs: DockerfileInputs): BuildMaterial[] {
  return [
    ...inputs.context.materials,
    ...inputs.bases.map((b) => ({
      uri: b.uri,
      digest: { sha256: b.digest.slice('sha256:'.length) },
      name: `base ${b.name}`,
    })),
  ];
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
