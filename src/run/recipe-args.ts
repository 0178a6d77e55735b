import path from 'node:path';
import type { Config } from '../config.ts';
import type { Logger } from '../log.ts';
import { formatProblem } from '../recipe/problem.ts';
import { loadRecipes, type LoadedRecipe } from '../recipe/load.ts';

/** Loads the recipes under `paths`; a broken one is logged with its position and left out, the rest go on. */
export async function loadRecipesLogged(
  paths: readonly string[],
  log: Logger,
): Promise<LoadedRecipe[]> {
  const { recipes, problems } = await loadRecipes(paths);
  for (const p of problems)
    log.error(
      { file: p.file, line: p.line, col: p.col },
      `broken recipe left out: ${formatProblem(p)}`,
    );
  return recipes;
}

/** Recipe arguments: a file path, or a name under the recipes folder. */
export function recipePaths(config: Config, args: readonly string[]): string[] {
  if (args.length === 0) return [config.recipesDir];
  return args.map((a) =>
    a.endsWith('.yaml') || a.endsWith('.yml') || a.includes('/')
      ? path.resolve(a)
      : path.join(config.recipesDir, `${a}.yaml`),
  );
}
