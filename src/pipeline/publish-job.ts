import { catalogPackage } from '../catalog/packages.ts';
import { recordPublished } from '../catalog/store.ts';
import type { NanoUpdateFixes } from '../vuln/nano-fixes.ts';
import { nanoFixesForPublish } from '../vuln/publish-fixes.ts';
import { notAffectedForPublish } from '../vuln/publish-vex.ts';
import type { Logger } from '../log.ts';
import { publishImage, type PublishOptions } from '../publish/publish-image.ts';
import type { BuildRequest } from '../model/build-request.ts';
import type { BuildResult } from '../model/build-result.ts';
import type { PublishResult } from '../model/publish-result.ts';
import type { PublishJobData } from '../queue/types.ts';
import type { JobContext } from '../queue/job-context.ts';
import type { Recipe } from '../recipe/schema.ts';
import { recipeForJob } from './build-job.ts';
import { repositoryPath, type PublishContext } from './context.ts';

/**
 * The publish step of a request, after every arch is built and pushed: {@link publishAndRecord},
 * with the job's progress. The publish queue and `kiln build --push` both run it.
 */
export async function runPublishJob(
  ctx: PublishContext,
  data: PublishJobData,
  builds: BuildResult[],
  job: JobContext,
): Promise<PublishResult> {
  const { request } = data;
  const recipe = await recipeForJob(request.recipeFile);
  await job.progress({ stage: 'publish', percent: 0 });
  const result = await publishAndRecord(ctx, {
    request,
    recipe,
    builds,
    log: job.log,
    onStep: (step) => job.progress({ stage: step }),
  });
  job.log.info(
    { recipe: request.recipe, version: request.version, digest: result.digest, tags: result.tags },
    'published',
  );
  return result;
}

/**
 * Publishes arch images already pushed by digest: the index, signature, attestations and tags (in
 * that order, each step idempotent), then, with a Redis, the catalog record the API, metrics and
 * `kiln status` read. The publish job and `kiln build --push` both publish through here.
 */
export async function publishAndRecord(
  ctx: PublishContext,
  options: {
    request: BuildRequest;
    recipe: Recipe;
    builds: BuildResult[];
    log: Logger;
    onStep?: PublishOptions['onStep'];
  },
): Promise<PublishResult> {
  const { request, recipe, builds } = options;
  const repository = repositoryPath(ctx, request.repository);
  const nanoFixes = await nanoFixesForPublish({
    client: ctx.registry,
    repository,
    request,
    builds,
    cacheDir: ctx.config.cacheDir,
    log: options.log,
  });
  const notAffected = await notAffectedForPublish({
    config: ctx.config,
    recipe,
    builds,
    log: options.log,
  });
  const result = await publishImage({
    client: ctx.registry,
    repository,
    request,
    archResults: builds,
    nanoFixes,
    notAffected,
    signer: ctx.signer,
    allowUnsigned: ctx.config.allowUnsigned,
    log: options.log,
    ...(options.onStep ? { onStep: options.onStep } : {}),
  });
  if (ctx.redis)
    await recordPublished(ctx.redis, ctx.config.queuePrefix, {
      ...catalogRecord(recipe, result, builds, request),
      fixes: fixesOf(nanoFixes),
    });
  return result;
}

/** The catalog's version-table notes of a nano update (none at -r0). */
function fixesOf(nano: NanoUpdateFixes | undefined) {
  return (nano?.packages ?? []).map((p) => ({
    package: p.package,
    from: p.from,
    to: p.to,
    cves: p.cves,
    changelogFound: p.changelogFound,
  }));
}

function catalogRecord(
  recipe: Recipe,
  result: PublishResult,
  builds: BuildResult[],
  request: BuildRequest,
) {
  const started = Math.min(...builds.map((b) => Date.parse(b.startedAt)));
  const finished = Math.max(...builds.map((b) => Date.parse(b.finishedAt)));
  const seen = new Set<string>();
  const packages = builds
    .flatMap((b) => b.packages)
    .filter((p) => (seen.has(p.purl) ? false : (seen.add(p.purl), true)))
    .map(catalogPackage);
  return {
    recipe: request.recipe,
    repository: request.repository,
    version: request.version,
    epoch: request.epoch,
    digest: result.digest,
    tags: result.tags,
    ...(result.buildTag ? { buildTag: result.buildTag } : {}),
    ...(recipe.variant ? { variant: { name: recipe.variant.name, of: recipe.variant.of } } : {}),
    archs: builds.map((b) => ({ arch: b.arch, digest: b.manifest.digest, size: b.size })),
    packages,
    signed: result.signed,
    attestations: result.attestations,
    inputsDigest: request.inputsDigest,
    upstream: {
      ...(request.upstream.releasedAt ? { releasedAt: request.upstream.releasedAt } : {}),
      ...(request.upstream.releasedAt && request.upstream.releasedAtSource
        ? { releasedAtSource: request.upstream.releasedAtSource }
        : {}),
      ...(request.upstream.url ? { url: request.upstream.url } : {}),
    },
    publishedAt: result.publishedAt,
    builtAt: new Date(finished).toISOString(),
    buildDurationMs: Math.max(0, finished - started),
    description: recipe.description,
    ...(recipe.homepage ? { homepage: recipe.homepage } : {}),
    license: recipe.license,
  };
}
