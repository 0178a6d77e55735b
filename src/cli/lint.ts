import type { Command } from 'commander';
import { lintPaths } from '../recipe/lint.ts';
import { formatProblem } from '../recipe/problem.ts';
import { cliContext, CliExit, ExitCode } from './context.ts';

export function registerLint(program: Command): void {
  program
    .command('lint')
    .argument('[paths...]', 'recipe files or folders (default: KILN_RECIPES_DIR or ./recipes)')
    .description('validate recipes; every problem as file:line:col: message; exit 1 if any')
    .action(async (paths: string[]) => {
      const { config } = cliContext();
      const targets = paths.length > 0 ? paths : [config.recipesDir];
      const { recipes, problems } = await lintPaths(targets);
      for (const p of problems)
        process.stdout.write(`${formatProblem(p, { relativeTo: process.cwd() })}\n`);
      if (problems.length > 0) {
        const files = new Set(problems.map((p) => p.file)).size;
        throw new CliExit(
          `kiln lint: ${problems.length} problem${problems.length === 1 ? '' : 's'} in ${files} file${files === 1 ? '' : 's'}; ${recipes.length} recipe${recipes.length === 1 ? '' : 's'} valid`,
          ExitCode.failure,
        );
      }
      process.stderr.write(
        `kiln lint: ${recipes.length} recipe${recipes.length === 1 ? '' : 's'} valid\n`,
      );
    });
}
