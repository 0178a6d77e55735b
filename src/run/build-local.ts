import { cp, mkdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import type { BuildOutput, Builder } from '../build/types.ts';
import { createWorkDir } from '../build/workdir.ts';
import type { Config } from '../config.ts';
import { PermanentError } from '../errors.ts';
import type { Logger } from '../log.ts';
import { createdAt, imageAnnotations, sourceDateEpochFor } from '../pipeline/annotations.ts';
import { repositoryPath, type PublishContext } from '../pipeline/context.ts';
import { publishAndRecord } from '../pipeline/publish-job.ts';
import type { ReleaseSource } from '../plan/plan-recipes.ts';
import type { PublishedState } from '../plan/published-state.ts';
import { pushLayout } from '../publish/publish-layout.ts';
import type { BuildRequest } from '../model/build-request.ts';
import type { PublishResult } from '../model/publish-result.ts';
import type { LoadedRecipe } from '../recipe/load.ts';
import { schemeOf } from '../versioning/scheme.ts';
import { planCycle } from './planner.ts';

/** What `kiln build` decided to build, or why there is nothing to build. */
export type LocalChoice =
  | { kind: 'build'; request: BuildRequest }
  | { kind: 'up-to-date' | 'held' | 'error'; reason: string };

/**
 * Picks what `kiln build` builds: the given version (any stream it belongs to), or else the
 * highest version any stream selects, planned against `published` exactly as the queue would.
 */
export async function chooseBuild(options: {
  config: Config;
  log: Logger;
  loaded: LoadedRecipe;
  version?: string | undefined;
  archs?: string[] | undefined;
  releases: ReleaseSource;
  published: PublishedState;
  builders: ReadonlyMap<string, Builder>;
}): Promise<LocalChoice> {
  const { loaded } = options;
  const releases: ReleaseSource = options.version
    ? async () => [
        { version: options.version ?? '', tag: options.version ?? '', prerelease: false },
      ]
    : options.releases;
  const [plan] = await planCycle({ ...options, recipes: [loaded], releases });
  const decisions = plan?.decisions ?? [];
  const scheme = schemeOf(loaded.recipe.versions.scheme);
  const relevant = decisions.filter((d) => d.kind !== 'error' || !options.version);
  const best = [...relevant].sort((a, b) => {
    const va = 'version' in a && a.version ? a.version : undefined;
    const vb = 'version' in b && b.version ? b.version : undefined;
    if (va === undefined || vb === undefined) return va === undefined ? 1 : -1;
    return scheme.compare(vb, va);
  })[0];
  if (!best)
    return {
      kind: 'error',
      reason: decisions.map((d) => d.reason).join('; ') || 'no stream selected a version',
    };
  if (best.kind !== 'build') return { kind: best.kind, reason: best.reason };
  const request = options.archs ? { ...best.request, archs: options.archs } : best.request;
  const unknown = request.archs.filter(
    (a) => !loaded.recipe.build.archs.some((known) => known === a),
  );
  if (unknown.length > 0) {
    throw new PermanentError(
      `${loaded.recipe.name} does not build ${unknown.join(', ')} (its archs: ${loaded.recipe.build.archs.join(', ')})`,
    );
  }
  return { kind: 'build', request };
}

/** Builds a request into an OCI layout at `outDir` (replaced if present), outside the queue. */
export async function buildToLayout(options: {
  config: Config;
  log: Logger;
  loaded: LoadedRecipe;
  request: BuildRequest;
  builder: Builder;
  outDir: string;
  signal: AbortSignal;
  onProgress?: (p: { stage: string; percent?: number; detail?: string }) => void;
}): Promise<BuildOutput> {
  const { config, loaded, request, builder } = options;
  const sourceDateEpoch = sourceDateEpochFor(config.sourceDateEpoch, request.upstream.releasedAt);
  const work = await createWorkDir({
    name: `${request.recipe}-${request.version}`,
    keepOnFailure: config.keepFailedBuilds,
    log: options.log,
  });
  try {
    const output = await builder.build({
      recipe: loaded.recipe,
      recipeFile: loaded.file,
      version: request.version,
      epoch: request.epoch,
      archs: request.archs,
      inputsDigest: request.inputsDigest,
      workDir: work.dir,
      signal: options.signal,
      timeoutMs: config.buildTimeoutMs,
      sourceDateEpoch,
      log: options.log,
      ...(options.onProgress ? { onProgress: options.onProgress } : {}),
      resolved: request.resolved,
      annotations: imageAnnotations(loaded.recipe, request, createdAt(sourceDateEpoch)),
    });
    const outDir = path.resolve(options.outDir);
    await rm(outDir, { recursive: true, force: true });
    await mkdir(path.dirname(outDir), { recursive: true });
    await rename(output.layoutDir, outDir).catch(async () => {
      await cp(output.layoutDir, outDir, { recursive: true });
    });
    await work.close('succeeded');
    return { ...output, layoutDir: outDir };
  } catch (error) {
    await work.close('failed');
    throw error;
  }
}

/**
 * `kiln build --push`: pushes the layout's arch images by digest, then publishes them through the
 * queue's publish path (sign, attest, tag; the catalog record when KILN_REDIS_URL is set).
 */
export async function pushAndPublish(
  ctx: PublishContext,
  options: {
    loaded: LoadedRecipe;
    request: BuildRequest;
    output: BuildOutput;
    builder: Builder;
    startedAt: string;
    finishedAt: string;
  },
): Promise<PublishResult> {
  const { request, builder } = options;
  const builds = await pushLayout({
    client: ctx.registry,
    repository: repositoryPath(ctx, request.repository),
    output: options.output,
    builder: { id: builder.id, version: builder.version },
    startedAt: options.startedAt,
    finishedAt: options.finishedAt,
  });
  return publishAndRecord(ctx, { request, recipe: options.loaded.recipe, builds, log: ctx.log });
}
