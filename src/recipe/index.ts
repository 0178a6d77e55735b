export {
  collect,
  loadRecipeFile,
  loadRecipes,
  parseRecipeSource,
  recipeFiles,
  type LoadedRecipe,
  type LoadResult,
  type ParsedRecipe,
} from './load.ts';
export { formatProblem, type Problem } from './problem.ts';
export { recipeSchema, type Recipe } from './schema.ts';
