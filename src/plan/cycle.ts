import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Builder } from '../build/types.ts';
import type { Config } from '../config.ts';
import type { Logger } from '../log.ts';
import type { LoadedRecipe } from '../recipe/load.ts';
import {
  planRecipes,
  type PlanOptions,
  type RecipePlan,
  type ReleaseSource,
} from './plan-recipes.ts';
import type { PublishedState } from './published-state.ts';

/** sha256 of the files beside a recipe that shape its build: patches, and the Dockerfile and its context's files named by the recipe. */
export async function recipeLocalFiles(loaded: LoadedRecipe): Promise<Record<string, string>> {
  const dir = path.dirname(loaded.file);
  const { recipe } = loaded;
  const files = [...recipe.patches.map((p) => p.file)];
  if (recipe.build.dockerfile)
    files.push(path.join(recipe.build.dockerfile.context, recipe.build.dockerfile.path));
  const out: Record<string, string> = {};
  for (const file of files) {
    const bytes = await readFile(path.resolve(dir, file)).catch(() => undefined);
    out[file] = bytes ? `sha256:${createHash('sha256').update(bytes).digest('hex')}` : 'missing';
  }
  return out;
}

export interface CycleOptions {
  config?: Config;
  log?: Logger;
  recipes: readonly LoadedRecipe[];
  releases: ReleaseSource;
  published: PublishedState;
  builders: ReadonlyMap<string, Builder>;
  now?: Date;
  signal?: AbortSignal;
  /** Resolve builder inputs (Debian lockfiles), so nano updates show; default true. */
  resolve?: boolean;
}

/**
 * One planning cycle over real parts: upstream releases, the published state, and each
 * builder's resolved inputs (the Debian lockfile per arch), so a changed package is a new epoch.
 * Pure of memories: the planner (planner.ts) adds the ports around it.
 */
export async function planCycle(options: CycleOptions): Promise<RecipePlan[]> {
  const signal = options.signal ?? new AbortController().signal;
  return planRecipes({
    recipes: options.recipes,
    releases: options.releases,
    published: options.published,
    now: options.now ?? new Date(),
    builderVersion: (id) => {
      const builder = options.builders.get(id);
      return builder ? `${builder.id}@${builder.version}` : id;
    },
    localFiles: recipeLocalFiles,
    resolve: options.resolve === false ? undefined : resolverOf(options.builders, signal),
  });
}

/** Each arch's resolved inputs of a version, from the recipe's builder (none if it resolves nothing). */
function resolverOf(
  builders: ReadonlyMap<string, Builder>,
  signal: AbortSignal,
): NonNullable<PlanOptions['resolve']> {
  return async (loaded, version) => {
    const builder = builders.get(loaded.recipe.build.builder);
    if (!builder?.resolve) return {};
    const entries = [];
    for (const arch of loaded.recipe.build.archs) {
      entries.push([
        arch,
        await builder.resolve(loaded.recipe, loaded.file, version, arch, signal),
      ] as const);
    }
    return Object.fromEntries(entries);
  };
}
