import { isDeepStrictEqual } from 'node:util';
import { normalizeStreams } from '../versioning/streams.ts';
import type { Recipe, RecipeUpstream } from './schema.ts';

/*
 * Per-stream contents, resolved in this one place. A stream may track an upstream of its own
 * (`versions.streams[i].upstream`), and `${stream}` in the recipe's `upstream`, `build` and
 * `test` stands for the stream's name, so one recipe can ship `openjdk-21-…` and
 * `openjdk-25-…` as two streams, as melange's `${{vars.…}}` and Chainguard's per-version package
 * lists do. `streamRecipe` turns a recipe and a stream into an ordinary recipe with that one
 * stream: the planner (selection, inputs digest), the builder, the tests and lint read only that.
 */

/** The placeholder a stream's name replaces. */
export const streamPlaceholder = '${stream}';

/** The parts of a recipe in which `${stream}` is replaced. */
export const streamFields = ['upstream', 'build', 'test'] as const;

/** Whether any stream's contents differ from the recipe's own: an upstream override or `${stream}`. */
export function hasStreamContents(recipe: Recipe): boolean {
  const overrides = (recipe.versions.streams ?? []).some(
    (s) => typeof s === 'object' && s.upstream !== undefined,
  );
  return overrides || placeholderPaths(recipe).length > 0;
}

/**
 * The recipe one stream builds: `${stream}` replaced by its name, its own upstream if it has
 * one, and `versions.streams` holding only that stream. A recipe whose streams share their
 * contents is returned as it is.
 */
export function streamRecipe(recipe: Recipe, streamName: string): Recipe {
  if (!hasStreamContents(recipe)) return recipe;
  const streams = declaredStreams(recipe);
  const stream = streams.find((s) => s.name === streamName);
  if (stream === undefined)
    throw new Error(
      `recipe ${recipe.name} has no stream ${JSON.stringify(streamName)} (streams: ${streams.map((s) => s.name).join(', ')})`,
    );
  const upstreamOf = (s: DeclaredStream): RecipeUpstream =>
    s.upstream ?? substitute(recipe.upstream, s.name);
  const upstream = upstreamOf(stream);
  const first = streams[0];
  const shared = first === undefined || isDeepStrictEqual(upstream, upstreamOf(first));
  const fill = <T>(value: T): T => substitute(value, stream.name);
  return {
    ...recipe,
    upstream,
    build: fill(recipe.build),
    test: fill(recipe.test),
    versions: { ...recipe.versions, streams: [{ name: stream.name, range: stream.range }] },
    stream: {
      name: stream.name,
      releaseKey: shared ? recipe.name : `${recipe.name}#${stream.name}`,
    },
  };
}

/** Each stream's effective recipe, in the recipe's order. */
export function streamRecipes(recipe: Recipe): Recipe[] {
  return normalizeStreams(recipe.versions.streams).map((s) => streamRecipe(recipe, s.name));
}

/**
 * Under which name a recipe's releases are watched and looked up: the recipe's name, or for a
 * stream whose upstream differs from the first stream's, `<name>#<stream>` (src/watch checks
 * each of those on its own).
 */
export function releaseKey(recipe: Recipe): string {
  return recipe.stream?.releaseKey ?? recipe.name;
}

/** Every upstream a recipe watches, by release key: one unless a stream tracks another. */
export function watchedUpstreams(recipe: Recipe): { key: string; upstream: RecipeUpstream }[] {
  if (!hasStreamContents(recipe)) return [{ key: recipe.name, upstream: recipe.upstream }];
  const out = new Map<string, RecipeUpstream>();
  for (const effective of streamRecipes(recipe))
    if (!out.has(releaseKey(effective))) out.set(releaseKey(effective), effective.upstream);
  return [...out].map(([key, upstream]) => ({ key, upstream }));
}

type DeclaredStream = { name: string; range: string; upstream?: RecipeUpstream | undefined };

/** The recipe's streams as written, names filled in (no streams: one `default` of every version). */
function declaredStreams(recipe: Recipe): DeclaredStream[] {
  const specs = recipe.versions.streams;
  if (!specs || specs.length === 0) return [{ name: 'default', range: '*' }];
  return specs.map((s) => (typeof s === 'string' ? { name: s.trim(), range: s } : s));
}

/** Paths (into the parsed recipe) of every string holding `${stream}`, for lint. */
export function placeholderPaths(recipe: Recipe): PropertyKey[][] {
  const out: PropertyKey[][] = [];
  const walk = (value: unknown, at: PropertyKey[]): void => {
    if (typeof value === 'string') {
      if (value.includes(streamPlaceholder)) out.push(at);
    } else if (Array.isArray(value)) value.forEach((v, i) => walk(v, [...at, i]));
    else if (value !== null && typeof value === 'object')
      for (const [k, v] of Object.entries(value)) walk(v, [...at, k]);
  };
  for (const field of streamFields) walk(recipe[field], [field]);
  return out;
}

/** A copy of a value with `${stream}` replaced in every string (keys included). */
function substitute<T>(value: T, name: string): T {
  if (typeof value === 'string') return value.split(streamPlaceholder).join(name) as T;
  if (Array.isArray(value)) return value.map((v: unknown) => substitute(v, name)) as T;
  if (value !== null && typeof value === 'object')
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [substitute(k, name), substitute(v, name)]),
    ) as T;
  return value;
}
