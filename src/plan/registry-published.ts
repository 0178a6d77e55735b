import pLimit from 'p-limit';
import type { Logger } from '../log.ts';
import type { RegistryClient } from '../oci/registry-client.ts';
import { readPublishedState } from '../publish/published-state.ts';
import type { LoadedRecipe } from '../recipe/load.ts';
import { tagSuffix } from '../recipe/variants.ts';
import type { PublishedStatePort } from './ports.ts';
import { publishedStateOf, type PublishedImage, type PublishedState } from './published-state.ts';

/**
 * What the registry holds for each recipe: the source of truth the planner compares against.
 * A repository that does not exist yet is simply empty; one that cannot be read is planned as
 * empty, with a warning (its builds then collapse into what is published by digest).
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
          // A variant shares its repository with the main image; its tags' suffix tells them apart.
          const suffix = tagSuffix(loaded.recipe);
          return [loaded.recipe.name, await readPublishedState(client, repository, { suffix })];
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

/** The published-state port over a registry, under `namespace`. */
export function registryPublished(
  client: RegistryClient,
  namespace: string,
  log: Logger,
): PublishedStatePort {
  return { read: (recipes) => registryPublishedState(client, namespace, recipes, log) };
}

/** A published-state port over a state already in hand (`kiln plan` given one, tests). */
export function givenPublished(state: PublishedState): PublishedStatePort {
  return { read: async () => state };
}
