import { loadRecipeFile, placeFindings, recipeFiles, collect, type LoadResult } from './load.ts';
import { dockerfileSymlinkFindings } from './dockerfile-paths.ts';
import { semanticFindings } from './semantic-checks.ts';
import type { UpstreamRelease } from '../versioning/release.ts';
import { selectVersions } from '../versioning/select.ts';
import { compareProblems } from './problem.ts';
import type { Recipe } from './schema.ts';

export interface LintOptions {
  /**
   * Cached upstream releases per recipe, when at hand: lint then also flags patches whose fix
   * is in the tracked version and streams no released version matches.
   */
  releasesOf?: ((recipe: Recipe) => UpstreamRelease[] | undefined) | undefined;
  now?: Date | undefined;
}

/** Lints every recipe under the paths: all problems of all files, sorted; valid recipes load. */
export async function lintPaths(
  paths: readonly string[],
  options: LintOptions = {},
): Promise<LoadResult> {
  const files = await recipeFiles(paths);
  const parsed = await Promise.all(files.map(loadRecipeFile));
  // The file system's part of the checks: a context or Dockerfile reached through a symlink
  // that leads out of the recipe's folder.
  for (const p of parsed) {
    if (!p.recipe || !p.doc || !p.counter) continue;
    const findings = await dockerfileSymlinkFindings(p.recipe, p.file);
    if (findings.length === 0) continue;
    p.problems = [...p.problems, ...placeFindings(p.file, p.doc, p.counter, findings)].sort(
      compareProblems,
    );
    p.recipe = undefined;
  }
  const releasesOf = options.releasesOf;
  if (releasesOf) {
    for (const p of parsed) {
      const releases = p.recipe ? releasesOf(p.recipe) : undefined;
      if (!p.recipe || !releases || !p.doc || !p.counter) continue;
      const selection = selectVersions(
        releases,
        { versions: p.recipe.versions, upstream: p.recipe.upstream },
        options.now ?? new Date(),
      );
      const extra = placeFindings(
        p.file,
        p.doc,
        p.counter,
        semanticFindings(p.recipe, selection).filter(
          (f) => !p.problems.some((q) => q.message === f.message),
        ),
      );
      if (extra.length > 0) {
        p.problems = [...p.problems, ...extra].sort(compareProblems);
        p.recipe = undefined;
      }
    }
  }
  const result = collect(parsed);
  if (files.length === 0)
    result.problems.push({
      file: paths.join(' '),
      line: 1,
      col: 1,
      message: 'no recipe files (*.yaml, *.yml) found',
    });
  return result;
}
