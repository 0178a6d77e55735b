export { planRecipe, type Decision, type DigestOf, type PlanRecipeInput } from './decide.ts';
export { findPublished, nextEpoch } from './epoch.ts';
export { inputsDigest, normaliseRecipe, type DigestInputs } from './inputs-digest.ts';
export {
  emptyPublishedState,
  publishedStateOf,
  type PublishedImage,
  type PublishedState,
} from './published-state.ts';
export { computeTags, tagText, type TagInput } from './tags.ts';
export {
  planRecipes,
  type PlanOptions,
  type RecipePlan,
  type ReleaseSource,
} from './plan-recipes.ts';
