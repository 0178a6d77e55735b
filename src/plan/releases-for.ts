import type { Recipe } from '../recipe/schema.ts';
import { releaseKey } from '../recipe/streams.ts';
import type { UpstreamRelease } from '../versioning/release.ts';
import type { ReleaseSource } from './plan-recipes.ts';

/**
 * A recipe's releases in one cycle, by release key (the recipe's name, or `<name>#<stream>` for a
 * stream with an upstream of its own: src/recipe/streams.ts): what a watcher check gave, newest first.
 */
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
    // A stream with an upstream of its own is looked up under its key (src/recipe/streams.ts).
    const key = releaseKey(recipe);
    let releases = memo.get(key);
    if (!releases) {
      releases = (async () => [...(await lookup(key))])();
      memo.set(key, releases);
    }
    return releases;
  };
}
