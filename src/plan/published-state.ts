/** One image of a recipe that the registry holds. */
export interface PublishedImage {
  /** Normalised upstream version, e.g. `3.12.7`. */
  version: string;
  /** The `N` of `-rN`. */
  epoch: number;
  /** The inputs digest recorded in the image's annotations. */
  inputsDigest: string;
  /** Tags pointing at this image now. */
  tags: string[];
  /** `sha256:…` of the image index. */
  digest: string;
}

/**
 * What is already published, per recipe. The planner only reads it; another part fills it from
 * the registry (the source of truth) or its Redis cache, before planning.
 */
export interface PublishedState {
  images(recipe: string): readonly PublishedImage[];
}

/** A published state over plain data: tests, the bench, and readers that fetched everything. */
export function publishedStateOf(
  byRecipe: Readonly<Record<string, readonly PublishedImage[]>>,
): PublishedState {
  const map = new Map(Object.entries(byRecipe));
  return { images: (recipe) => map.get(recipe) ?? [] };
}

/** Nothing published yet. */
export const emptyPublishedState: PublishedState = { images: () => [] };
