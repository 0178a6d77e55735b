import { rebuildCatalogFromRegistry, type RebuildImage } from '../catalog/rebuild.ts';
import type { CatalogRecord } from '../catalog/record.ts';
import type { PublishContext } from '../pipeline/context.ts';
import { repositoryPath } from '../pipeline/context.ts';
import type { LoadedRecipe } from '../recipe/load.ts';
import { tagSuffix } from '../recipe/variants.ts';
import { redisKeys } from '../queue/keys.ts';

/*
 * The catalog is a cache of the registry. A marker says this Redis's catalog was derived from the
 * registry (or kept in step with it by every publish since): it sits among the catalog's keys, so
 * a FLUSHDB, a new Redis or `clearCatalog` removes it with them, and the next start-up or
 * reconcile rebuilds the catalog from the registry. A publish recorded after such a loss does not
 * put the marker back, so a catalog that is not empty but partial is rebuilt too.
 *
 * Key, for prefix P:  P:catalog:derived-from-registry   the ISO time of the last rebuild
 */

const markerKey = (prefix: string) => redisKeys(prefix).catalog.derivedFromRegistry;

export type CatalogContext = Pick<PublishContext, 'config' | 'log' | 'registry' | 'namespace'> & {
  redis: NonNullable<PublishContext['redis']>;
};

/** What the catalog rebuild reads for each recipe: its repository and the fields the page shows. */
export function rebuildImagesOf(
  ctx: CatalogContext,
  recipes: readonly LoadedRecipe[],
): RebuildImage[] {
  return recipes.map(({ recipe }) => {
    const repository = recipe.publish.repository ?? recipe.name;
    return {
      recipe: recipe.name,
      repository,
      path: repositoryPath(ctx, repository),
      // A variant (static-dev) shares the main image's repository: its tags' suffix picks it.
      ...(recipe.variant ? { suffix: tagSuffix(recipe) } : {}),
      description: recipe.description,
      license: recipe.license,
      ...(recipe.homepage ? { homepage: recipe.homepage } : {}),
    };
  });
}

/** `kiln catalog rebuild`: every recipe's catalog entries replaced by what the registry holds. */
export async function rebuildCatalog(
  ctx: CatalogContext,
  recipes: readonly LoadedRecipe[],
): Promise<CatalogRecord[]> {
  const records = await rebuildCatalogFromRegistry({
    redis: ctx.redis,
    prefix: ctx.config.queuePrefix,
    client: ctx.registry,
    images: rebuildImagesOf(ctx, recipes),
    log: ctx.log,
  });
  await ctx.redis.set(markerKey(ctx.config.queuePrefix), new Date().toISOString());
  return records;
}

/**
 * Rebuilds the catalog when its marker is missing (a new or flushed Redis) and returns what it
 * wrote; undefined when the catalog is known to follow the registry.
 */
export async function restoreCatalogIfLost(
  ctx: CatalogContext,
  recipes: readonly LoadedRecipe[],
): Promise<CatalogRecord[] | undefined> {
  if ((await ctx.redis.exists(markerKey(ctx.config.queuePrefix))) === 1) return undefined;
  ctx.log.warn(
    { recipes: recipes.length },
    'the catalog was not derived from the registry in this Redis (new, flushed or lost): rebuilding it',
  );
  const records = await rebuildCatalog(ctx, recipes);
  ctx.log.info({ records: records.length }, 'catalog rebuilt from the registry');
  return records;
}
