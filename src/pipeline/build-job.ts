import { cp, mkdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { getBuilder } from '../build/registry.ts';
import type { BuildOutput } from '../build/types.ts';
import { createWorkDir } from '../build/workdir.ts';
import type { Config } from '../config.ts';
import { PermanentError } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { BuildRequest } from '../model/build-request.ts';
import type { BuildResult } from '../model/build-result.ts';
import type { RegistryClient } from '../oci/registry-client.ts';
import type { JobContext } from '../queue/job-context.ts';
import type { BuildJobData } from '../queue/types.ts';
import { formatProblem } from '../recipe/problem.ts';
import { loadRecipeFile } from '../recipe/load.ts';
import { streamRecipe } from '../recipe/streams.ts';
import { expandVariants } from '../recipe/variants.ts';
import { createdAt, imageAnnotations, sourceDateEpochFor } from './annotations.ts';
import type { PipelineContext } from './context.ts';

/**
 * Loads a recipe for a job; a recipe that no longer parses fails the job for good. `name` picks
 * one of the file's variants (`static-dev`, src/recipe/variants.ts); by default the main recipe.
 * `stream` resolves that stream's contents.
 */
export async function recipeForJob(file: string, name?: string, stream?: string) {
  const recipe = await declaredRecipe(file, name);
  if (stream === undefined) return recipe;
  // The stream's effective recipe: its packages, entrypoint and tests (src/recipe/streams.ts).
  try {
    return streamRecipe(recipe, stream);
  } catch (cause) {
    throw new PermanentError(`recipe ${file} (its streams changed?)`, { cause });
  }
}

async function declaredRecipe(file: string, name?: string) {
  const parsed = await loadRecipeFile(file).catch((error: unknown) => {
    throw new PermanentError(`reading recipe ${file}`, { cause: error });
  });
  if (!parsed.recipe) {
    throw new PermanentError(
      `recipe ${file} is broken:\n${parsed.problems.map((p) => formatProblem(p)).join('\n')}`,
    );
  }
  const recipe = parsed.recipe;
  if (name === undefined || name === recipe.name) return recipe;
  const variant = expandVariants(recipe).find((v) => v.name === name);
  if (!variant)
    throw new PermanentError(`recipe ${file} has no image named ${name} (its variants changed?)`);
  return variant;
}

export interface BuildStepOptions {
  /** The archs to build: one for a queue job, all of the request's for `kiln build`. */
  archs: string[];
  /** Where to push the arch images by digest (untagged); none for a local-only `kiln build`. */
  push?: { registry: RegistryClient; namespace: string };
  /** Keep the OCI layout here (replaced if present); by default it goes with the work folder. */
  layoutTo?: string;
}

export interface BuildStepResult {
  /** The builder's output; its layout is at `layoutTo` when one was given. */
  output: BuildOutput;
  /** What the publish step takes: one per arch pushed (empty without `push`). */
  pushed: BuildResult[];
}

/**
 * The build step of a request, the same for a queue job and for `kiln build`: build in a private
 * folder, fail for good on a failed test, then push the arch images by digest and/or keep the
 * layout. Safe to run again: the push skips what the registry has.
 */
export async function runBuild(
  ctx: { config: Config },
  request: BuildRequest,
  job: JobContext,
  options: BuildStepOptions,
): Promise<BuildStepResult> {
  const recipe = await recipeForJob(request.recipeFile, request.recipe, request.stream);
  const builder = getBuilder(recipe.build.builder, ctx.config);
  const startedAt = new Date().toISOString();
  const sourceDateEpoch = sourceDateEpochFor(
    ctx.config.sourceDateEpoch,
    request.upstream.releasedAt,
  );
  const work = await createWorkDir({
    name: `${request.recipe}-${request.version}-${options.archs.join('-')}`,
    keepOnFailure: ctx.config.keepFailedBuilds,
    log: job.log,
  });
  try {
    await job.progress({ stage: 'build', percent: 0 });
    const output = await builder.build({
      recipe,
      recipeFile: request.recipeFile,
      version: request.version,
      epoch: request.epoch,
      archs: options.archs,
      inputsDigest: request.inputsDigest,
      workDir: work.dir,
      signal: job.signal,
      timeoutMs: ctx.config.buildTimeoutMs,
      sourceDateEpoch,
      log: job.log,
      onProgress: (p) => void job.progress(p),
      onLogLine: (line) => job.appendLog(line),
      resolved: request.resolved,
      annotations: imageAnnotations(recipe, request, createdAt(sourceDateEpoch)),
    });
    checkBuilt(output, request, options.archs, builder.id);
    const finishedAt = new Date().toISOString();
    let pushed: BuildResult[] = [];
    if (options.push) {
      await job.progress({ stage: 'push', percent: 90 });
      // Loaded only to push: a local build needs neither the signing, SBOM and registry code nor
      // the queue's (context.ts), which are most of a build process's start-up.
      const [{ pushLayout }, { repositoryPath }] = await Promise.all([
        import('../publish/publish-layout.ts'),
        import('./context.ts'),
      ]);
      pushed = await pushLayout({
        client: options.push.registry,
        repository: repositoryPath(options.push, request.repository),
        output,
        builder: { id: builder.id, version: builder.version },
        startedAt,
        finishedAt,
      });
    }
    const kept = options.layoutTo ? await keepLayout(output, options.layoutTo) : output;
    await work.close('succeeded');
    return { output: kept, pushed };
  } catch (error) {
    await work.close('failed');
    throw error;
  }
}

/** One arch of one build request, as the build queue runs it: built, tested, pushed by digest. */
export async function runBuildJob(
  ctx: PipelineContext,
  data: BuildJobData,
  job: JobContext,
): Promise<BuildResult> {
  const { pushed } = await runBuild(ctx, data.request, job, { archs: [data.arch], push: ctx });
  const [result] = pushed;
  if (!result) throw new Error(`pushing ${data.request.recipe} ${data.arch} gave no result`);
  return result;
}

/** Every asked arch was built, and no test failed; otherwise the build fails for good. */
function checkBuilt(output: BuildOutput, request: BuildRequest, archs: string[], builder: string) {
  for (const arch of archs) {
    const built = output.archs.find((a) => a.arch === arch);
    if (!built)
      throw new PermanentError(
        `builder ${builder} produced no ${arch} image for ${request.recipe} ${request.version}`,
      );
    const failed = built.tests.filter((t) => t.status === 'failed');
    if (failed.length > 0) {
      throw new PermanentError(
        `tests failed for ${request.recipe} ${request.version} ${arch}: ${failed.map((t) => `${t.name}: ${t.note ?? ''}`).join('; ')}`,
      );
    }
  }
}

/** Moves the layout out of the work folder to `to` (replaced if present). */
async function keepLayout(output: BuildOutput, to: string): Promise<BuildOutput> {
  const outDir = path.resolve(to);
  await rm(outDir, { recursive: true, force: true });
  await mkdir(path.dirname(outDir), { recursive: true });
  await rename(output.layoutDir, outDir).catch(async () => {
    await cp(output.layoutDir, outDir, { recursive: true });
  });
  return { ...output, layoutDir: outDir };
}

/** For `kiln build`: a job context in this process, over the command's progress and signal. */
export function localJob(options: {
  log: Logger;
  signal: AbortSignal;
  onProgress?: (p: { stage: string; percent?: number; detail?: string }) => void;
}): JobContext {
  return {
    jobId: 'local',
    attempt: 1,
    signal: options.signal,
    progress: async (p) => options.onProgress?.(p),
    appendLog: (line) => options.log.debug(line),
    log: options.log,
  };
}
