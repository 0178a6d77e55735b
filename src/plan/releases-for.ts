import type { Recipe } from '../recipe/schema.ts';
import type { UpstreamRelease } from '../versioning/release.ts';
import type { ReleaseSource } from './plan-recipes.ts';

/** A recipe's releases in one cycle, by recipe name: what a watcher check gave, newest first. */
export type ReleaseLookup = (
  recipeName: string,
) => readonly UpstreamRelease[] | Promise<readonly UpstreamRelease[]>;

/**
 * The one way a release source is built, as Renovate's `getPkgReleases` is the one entry to
 * every datasource: the watcher's triggers (a changed upstream, a changed suite, a reconcile),
 * `kiln plan`, `kiln build` and `kiln lint --upstream` all plan through it. The lookup reads
 * what the watcher's checks gave (src/watch opens every upstream source); the answer for each
 * recipe is memoised for the cycle, so every use within one cycle sees the same releases.
 */
export function releasesFor(lookup: ReleaseLookup): ReleaseSource {
  const memo = new Map<string, Promise<UpstreamRelease[]>>();
  return (recipe: Recipe) => {
    let releases = memo.get(recipe.name);
    if (!releases) {
      releases = (async () => [...(await lookup(recipe.name))])();
      memo.set(recipe.name, releases);
    }
    return releases;
  };
}
