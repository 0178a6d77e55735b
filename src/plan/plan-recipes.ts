import { describeError } from '../errors.ts';
import { canonicalJson, sha256Digest } from '../oci/digest.ts';
import type { Resolved } from '../model/resolved.ts';
import type { LoadedRecipe } from '../recipe/load.ts';
import type { Recipe } from '../recipe/schema.ts';
import { hasStreamContents, streamRecipes } from '../recipe/streams.ts';
import type { UpstreamRelease } from '../versioning/release.ts';
import { selectVersions, type Selection } from '../versioning/select.ts';
import { planRecipe, type Decision } from './decide.ts';
import { inputsDigest } from './inputs-digest.ts';
import type { PublishedState } from './published-state.ts';

/** Where releases come from: src/upstream's sources in production, fixtures in tests and the bench. */
export type ReleaseSource = (recipe: Recipe) => Promise<UpstreamRelease[]>;

export interface PlanOptions {
  recipes: readonly LoadedRecipe[];
  releases: ReleaseSource;
  published: PublishedState;
  now: Date;
  /** The builder's version for the inputs digest, by builder id. Default: the builder id. */
  builderVersion?: ((builder: Recipe['build']['builder']) => string) | undefined;
  /** Per-arch resolved inputs (lockfile digests) for a version; default: none resolved. */
  resolve?: ((loaded: LoadedRecipe, version: string) => Promise<Resolved>) | undefined;
  /** Digests of files beside the recipe that go into the build (patches, Dockerfile). */
  localFiles?: ((loaded: LoadedRecipe) => Promise<Record<string, string>>) | undefined;
}

export interface RecipePlan {
  recipe: string;
  file: string;
  /** Per stream, in the recipe's order. */
  decisions: Decision[];
  /** Upstream releases that were left out, with the reason. */
  rejected: Selection['rejected'];
}

/**
 * Plans every recipe: releases from the source, selection per stream, inputs digest, decision.
 * A recipe whose upstream fails gets an `error` decision; the others are planned regardless.
 */
export async function planRecipes(options: PlanOptions): Promise<RecipePlan[]> {
  const out: RecipePlan[] = [];
  for (const loaded of options.recipes) {
    const { recipe } = loaded;
    try {
      // Each stream as its effective recipe (src/recipe/streams.ts): its upstream's releases,
      // its contents in the resolve and the digest. One recipe for all when they share them.
      const { selection, recipeOf } = await selectStreams(recipe, options);
      const localFiles = options.localFiles ? await options.localFiles(loaded) : {};
      const resolvedByVersion = new Map<string, Resolved>();
      for (const s of selection.streams) {
        if (s.selected && options.resolve && !resolvedByVersion.has(s.selected.version)) {
          resolvedByVersion.set(
            s.selected.version,
            await options.resolve(
              { ...loaded, recipe: recipeOf(s.stream.name) },
              s.selected.version,
            ),
          );
        }
      }
      const builderVersion = options.builderVersion?.(recipe.build.builder) ?? recipe.build.builder;
      const decisions = planRecipe({
        loaded,
        selection,
        published: options.published.images(recipe.name),
        now: options.now,
        resolvedOf: (version) => resolvedByVersion.get(version),
        digestOf: (s, c) =>
          inputsDigest({
            recipe: recipeOf(s.stream.name),
            version: c.version,
            artifacts: c.release.checksums,
            resolved: resolvedDigests(resolvedByVersion.get(c.version)),
            localFiles,
            builderVersion,
          }),
      });
      out.push({ recipe: recipe.name, file: loaded.file, decisions, rejected: selection.rejected });
    } catch (error) {
      out.push({
        recipe: recipe.name,
        file: loaded.file,
        decisions: [
          {
            kind: 'error',
            recipe: recipe.name,
            stream: '*',
            reason: `planning ${recipe.name}: ${describeError(error)}`,
          },
        ],
        rejected: [],
      });
    }
  }
  return out;
}

/**
 * Selection per stream. A recipe whose streams share their contents is selected as a whole; one
 * with per-stream contents stream by stream, each from its own upstream's releases, and the
 * selections joined in the recipe's order.
 */
async function selectStreams(
  recipe: Recipe,
  options: Pick<PlanOptions, 'releases' | 'now'>,
): Promise<{ selection: Selection; recipeOf: (stream: string) => Recipe }> {
  const select = async (r: Recipe) =>
    selectVersions(
      await options.releases(r),
      { versions: r.versions, upstream: r.upstream },
      options.now,
    );
  if (!hasStreamContents(recipe))
    return { selection: await select(recipe), recipeOf: () => recipe };
  const effective = new Map(streamRecipes(recipe).map((r) => [r.stream?.name ?? '', r]));
  const parts = await Promise.all([...effective.values()].map(select));
  const selection: Selection = {
    streams: parts.flatMap((p) => p.streams),
    candidates: parts.flatMap((p) => p.candidates),
    rejected: parts.flatMap((p) => p.rejected),
  };
  return { selection, recipeOf: (stream) => effective.get(stream) ?? recipe };
}

/**
 * The digest takes one digest per arch, not whole lockfiles: the builder's own `lockfileDigest`
 * when it gives one, else the digest of the canonical JSON of what it resolved.
 */
export function resolvedDigests(
  resolved: Resolved | undefined,
): Record<string, string> | undefined {
  if (!resolved) return undefined;
  return Object.fromEntries(
    Object.entries(resolved).map(([arch, value]) => {
      const given =
        typeof value === 'object' && value !== null && 'lockfileDigest' in value
          ? value.lockfileDigest
          : undefined;
      return [arch, typeof given === 'string' ? given : sha256Digest(canonicalJson(value))];
    }),
  );
}
