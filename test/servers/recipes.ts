import type { LoadedRecipe } from '../../src/recipe/index.ts';
import { recipeSchema, type RecipeUpstream } from '../../src/recipe/schema.ts';

/** A valid recipe watching `upstream`, as the loader would hand it to the watcher. */
export function watchedRecipe(name: string, upstream: RecipeUpstream): LoadedRecipe {
  const recipe = recipeSchema.parse({
    name,
    description: `test recipe ${name}`,
    license: 'MIT',
    upstream,
    build: { builder: 'dockerfile', dockerfile: {} },
  });
  return { file: `/recipes/${name}.yaml`, recipe };
}
