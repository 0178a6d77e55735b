import type { Command } from 'commander';
import type { Config } from '../config.ts';
import type { Logger } from '../log.ts';
import type { LoadedRecipe } from '../recipe/load.ts';
import { describeError } from '../errors.ts';
import { lintPaths } from '../recipe/lint.ts';
import { formatProblem } from '../recipe/problem.ts';
import type { UpstreamRelease } from '../versioning/release.ts';
import { cliContext, CliExit, ExitCode } from './context.ts';
import { printJson } from './table.ts';
import { hasStreamContents, streamRecipes } from '../recipe/streams.ts';

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;

export function registerLint(program: Command): void {
  program
    .command('lint')
    .argument('[paths...]', 'recipe files or folders (default: KILN_RECIPES_DIR or ./recipes)')
    .option(
      '--upstream',
      'also ask each upstream for its releases: flags patches already fixed in the tracked version and streams no release matches',
    )
    .option('--json', 'print the problems and the valid recipes as JSON')
    .description('validate recipes; every problem as file:line:col: message; exit 1 if any')
    .action(async (paths: string[], options: { upstream?: boolean; json?: boolean }) => {
      const { config, log } = cliContext();
      const targets = paths.length > 0 ? paths : [config.recipesDir];
      let result = await lintPaths(targets);
      // Offline lint first: only valid recipes are worth a request to their upstream.
      if (options.upstream && result.recipes.length > 0) {
        const releases = await upstreamReleases(config, log, result.recipes);
        result = await lintPaths(targets, { releasesOf: (recipe) => releases.get(recipe.name) });
      }
      const { recipes, problems } = result;
      // A recipe's variants are images of it, not recipes of their own: the count is of recipes.
      const declared = recipes.filter((r) => !r.recipe.variant);
      if (options.json) {
        printJson({
          valid: recipes.map((r) => ({ name: r.recipe.name, file: r.file })),
          problems: problems.map((p) => ({
            ...p,
            text: formatProblem(p, { relativeTo: process.cwd() }),
          })),
        });
      } else {
        for (const p of problems) {
          process.stdout.write(`${formatProblem(p, { relativeTo: process.cwd() })}\n`);
        }
      }
      if (problems.length > 0) {
        const files = new Set(problems.map((p) => p.file)).size;
        throw new CliExit(
          `kiln lint: ${plural(problems.length, 'problem')} in ${plural(files, 'file')}; ${plural(declared.length, 'recipe')} valid`,
          ExitCode.failure,
        );
      }
      process.stderr.write(`kiln lint: ${plural(declared.length, 'recipe')} valid\n`);
    });
}

/**
 * Each valid recipe's upstream releases, checked as one watcher cycle (GitHub recipes share
 * GraphQL batches); a recipe whose upstream cannot be checked is left out, with a warning.
 */
async function upstreamReleases(
  config: Config,
  log: Logger,
  recipes: readonly LoadedRecipe[],
): Promise<Map<string, UpstreamRelease[]>> {
  // Imported here: Redis and the upstream clients are not part of an offline `kiln lint`.
  const [{ openCacheRedis }, { releasesOnce }] = await Promise.all([
    import('./cache-redis.ts'),
    import('../watch/releases-once.ts'),
  ]);
  const cache = await openCacheRedis(config, log);
  const releases = new Map<string, UpstreamRelease[]>();
  try {
    const source = await releasesOnce({ config, log, redis: cache.redis }, recipes);
    for (const { recipe } of recipes) {
      try {
        // A stream with an upstream of its own (src/recipe/streams.ts) adds its releases; each
        // stream's range then picks its own.
        const streams = hasStreamContents(recipe) ? streamRecipes(recipe) : [recipe];
        releases.set(recipe.name, (await Promise.all(streams.map((r) => source(r)))).flat());
      } catch (error) {
        log.warn({ recipe: recipe.name }, `upstream not checked: ${describeError(error)}`);
      }
    }
  } finally {
    await cache.close();
  }
  return releases;
}
