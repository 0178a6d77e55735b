import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import pLimit from 'p-limit';
import { builders } from '../build/registry.ts';
import type { Builder } from '../build/types.ts';
import type { Config } from '../config.ts';
import type { Logger } from '../log.ts';
import type { RegistryClient } from '../oci/registry-client.ts';
import { planRecipes, type RecipePlan, type ReleaseSource } from '../plan/plan-recipes.ts';
import {
  publishedStateOf,
  type PublishedImage,
  type PublishedState,
} from '../plan/published-state.ts';
import { readPublishedState } from '../publish/published-state.ts';
import type { LoadedRecipe } from '../recipe/load.ts';

/**
 * What the registry holds for each recipe: the source of truth the planner compares against.
 * A repository that does not exist yet is simply empty.
 */
export async function registryPublishedState(
  client: RegistryClient,
  namespace: string,
  recipes: readonly LoadedRecipe[],
  log: Logger,
): Promise<PublishedState> {
  const limit = pLimit(4);
  const entries = await Promise.all(
    recipes.map((loaded) =>
      limit(async (): Promise<[string, PublishedImage[]]> => {
        const repository = [namespace, loaded.recipe.publish.repository ?? loaded.recipe.name]
          .filter(Boolean)
          .join('/');
        try {
          return [loaded.recipe.name, await readPublishedState(client, repository)];
        } catch (error) {
          log.warn(
            { recipe: loaded.recipe.name, err: error },
            'could not read the published state; planning as if nothing were published',
          );
          return [loaded.recipe.name, []];
        }
      }),
    ),
  );
  return publishedStateOf(Object.fromEntries(entries));
}

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

/** Every builder, configured: the planner asks them for versions and resolved inputs. */
export function configuredBuilders(config: Config): Map<string, Builder> {
  return new Map([...builders].map(([id, make]) => [id, make(config)]));
}

export interface CycleOptions {
  config: Config;
  log: Logger;
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
 * One planning cycle over real parts: upstream releases, the registry's published state, and each
 * builder's resolved inputs (the Debian lockfile per arch), so a changed package is a new epoch.
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
    resolve:
      options.resolve === false
        ? undefined
        : async (loaded, version) => {
            const builder = options.builders.get(loaded.recipe.build.builder);
            if (!builder?.resolve) return {};
            const out: Record<string, unknown> = {};
            for (const arch of loaded.recipe.build.archs) {
              out[arch] = await builder.resolve(loaded.recipe, loaded.file, version, arch, signal);
            }
            return out;
          },
  });
}
