import { Annotation } from '../oci/media-types.ts';
import type { BuildRequest } from '../model/build-request.ts';
import type { Recipe } from '../recipe/schema.ts';

/** The annotations every image kiln builds carries on its manifests (the index gets its own at publish). */
export function imageAnnotations(
  recipe: Recipe,
  request: Pick<BuildRequest, 'version' | 'epoch' | 'inputsDigest' | 'upstream'>,
  created: string,
): Record<string, string> {
  const a: Record<string, string> = {
    ...recipe.build.annotations,
    [Annotation.title]: recipe.name,
    [Annotation.description]: recipe.description,
    [Annotation.licenses]: recipe.license,
    [Annotation.version]: request.version,
    [Annotation.created]: created,
    [Annotation.inputsDigest]: request.inputsDigest,
    [Annotation.recipe]: recipe.name,
    [Annotation.epoch]: String(request.epoch),
  };
  if (recipe.homepage) a[Annotation.url] = recipe.homepage;
  if (request.upstream.url) a[Annotation.source] = request.upstream.url;
  if (request.upstream.tag) a[Annotation.revision] = request.upstream.tag;
  return a;
}

/**
 * The build's timestamp: SOURCE_DATE_EPOCH when set, else the upstream release time, else 0.
 * Never the wall clock: the same inputs must give the same bytes.
 */
export function sourceDateEpochFor(
  configured: number | undefined,
  releasedAt: string | undefined,
): number {
  if (configured !== undefined) return configured;
  const ms = releasedAt ? Date.parse(releasedAt) : Number.NaN;
  return Number.isFinite(ms) ? Math.floor(ms / 1000) : 0;
}

/** ISO form of a SOURCE_DATE_EPOCH, for `created` fields. */
export function createdAt(sourceDateEpoch: number): string {
  return new Date(sourceDateEpoch * 1000).toISOString().replace('.000Z', 'Z');
}
