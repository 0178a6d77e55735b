import type { Builder } from '../build/types.ts';
import type { Config } from '../config.ts';
import { PermanentError } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { ReleaseSource } from '../plan/plan-recipes.ts';
import type { PublishedState } from '../plan/published-state.ts';
import type { BuildRequest } from '../model/build-request.ts';
import type { LoadedRecipe } from '../recipe/load.ts';
import { schemeOf } from '../versioning/scheme.ts';
import { planCycle } from '../plan/cycle.ts';

/** What `kiln build` decided to build, or why there is nothing to build. */
export type LocalChoice =
  | { kind: 'build'; request: BuildRequest }
  | { kind: 'up-to-date' | 'held' | 'error'; reason: string };

/**
 * Picks what `kiln build` builds: the given version (any stream it belongs to), or else the
 * highest version any stream selects, planned against `published` exactly as the queue would.
 */
export async function chooseBuild(options: {
  config: Config;
  log: Logger;
  loaded: LoadedRecipe;
  version?: string | undefined;
  archs?: string[] | undefined;
  releases: ReleaseSource;
  published: PublishedState;
  builders: ReadonlyMap<string, Builder>;
}): Promise<LocalChoice> {
  const { loaded } = options;
  const releases: ReleaseSource = options.version
    ? async () => [
        { version: options.version ?? '', tag: options.version ?? '', prerelease: false },
      ]
    : options.releases;
  const [plan] = await planCycle({ ...options, recipes: [loaded], releases });
  const decisions = plan?.decisions ?? [];
  const scheme = schemeOf(loaded.recipe.versions.scheme);
  const relevant = decisions.filter((d) => d.kind !== 'error' || !options.version);
  const best = [...relevant].sort((a, b) => {
    const va = 'version' in a && a.version ? a.version : undefined;
    const vb = 'version' in b && b.version ? b.version : undefined;
    if (va === undefined || vb === undefined) return va === undefined ? 1 : -1;
    return scheme.compare(vb, va);
  })[0];
  if (!best)
    return {
      kind: 'error',
      reason: decisions.map((d) => d.reason).join('; ') || 'no stream selected a version',
    };
  if (best.kind !== 'build') return { kind: best.kind, reason: best.reason };
  const request = options.archs ? { ...best.request, archs: options.archs } : best.request;
  const unknown = request.archs.filter(
    (a) => !loaded.recipe.build.archs.some((known) => known === a),
  );
  if (unknown.length > 0) {
    throw new PermanentError(
      `${loaded.recipe.name} does not build ${unknown.join(', ')} (its archs: ${loaded.recipe.build.archs.join(', ')})`,
    );
  }
  return { kind: 'build', request };
}
