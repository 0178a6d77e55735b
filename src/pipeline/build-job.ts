import { getBuilder } from '../build/registry.ts';
import { createWorkDir } from '../build/workdir.ts';
import { PermanentError } from '../errors.ts';
import { pushArchImage } from '../publish/push-arch.ts';
import type { BuildResult } from '../model/build-result.ts';
import type { BuildJobData } from '../queue/types.ts';
import type { JobContext } from '../queue/workers.ts';
import { formatProblem } from '../recipe/problem.ts';
import { loadRecipeFile } from '../recipe/load.ts';
import { createdAt, imageAnnotations, sourceDateEpochFor } from './annotations.ts';
import { repositoryPath, type PipelineContext } from './context.ts';

/** Loads a recipe for a job; a recipe that no longer parses fails the job for good. */
export async function recipeForJob(file: string) {
  const parsed = await loadRecipeFile(file).catch((error: unknown) => {
    throw new PermanentError(`reading recipe ${file}`, { cause: error });
  });
  if (!parsed.recipe) {
    throw new PermanentError(
      `recipe ${file} is broken:\n${parsed.problems.map((p) => formatProblem(p)).join('\n')}`,
    );
  }
  return parsed.recipe;
}

/**
 * One arch of one build request: build it in a private folder, run its tests, push its blobs
 * and manifest by digest (untagged). Safe to run again: the push skips what the registry has.
 */
export async function runBuildJob(
  ctx: PipelineContext,
  data: BuildJobData,
  job: JobContext,
): Promise<BuildResult> {
  const { request, arch } = data;
  const recipe = await recipeForJob(request.recipeFile);
  const builder = getBuilder(recipe.build.builder, ctx.config);
  const startedAt = new Date().toISOString();
  const sourceDateEpoch = sourceDateEpochFor(
    ctx.config.sourceDateEpoch,
    request.upstream.releasedAt,
  );
  const work = await createWorkDir({
    name: `${request.recipe}-${request.version}-${arch}`,
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
      archs: [arch],
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
    const built = output.archs.find((a) => a.arch === arch);
    if (!built)
      throw new PermanentError(
        `builder ${builder.id} produced no ${arch} image for ${request.recipe} ${request.version}`,
      );
    const failed = built.tests.filter((t) => t.status === 'failed');
    if (failed.length > 0) {
      throw new PermanentError(
        `tests failed for ${request.recipe} ${request.version} ${arch}: ${failed.map((t) => `${t.name}: ${t.note ?? ''}`).join('; ')}`,
      );
    }
    await job.progress({ stage: 'push', percent: 90 });
    const pushed = await pushArchImage(
      ctx.registry,
      repositoryPath(ctx, request.repository),
      output.layoutDir,
      built.manifest,
    );
    await work.close('succeeded');
    return {
      arch,
      manifest: built.manifest,
      size: pushed.size,
      packages: built.packages,
      materials: output.materials,
      tests: built.tests,
      ...(built.lockfileDigest ? { lockfileDigest: built.lockfileDigest } : {}),
      builder: { id: builder.id, version: builder.version },
      startedAt,
      finishedAt: new Date().toISOString(),
    };
  } catch (error) {
    await work.close('failed');
    throw error;
  }
}
