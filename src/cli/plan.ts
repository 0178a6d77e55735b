import type { Command } from 'commander';
import type { Config } from '../config.ts';
import type { Logger } from '../log.ts';
import { emptyPublishedState, type PublishedState } from '../plan/published-state.ts';
import { planRecipes, type RecipePlan, type ReleaseSource } from '../plan/plan-recipes.ts';
import { renderPlanTable } from '../plan/render.ts';
import { loadRecipes } from '../recipe/load.ts';
import { formatProblem, type Problem } from '../recipe/problem.ts';
import { memoryValidatorCache } from '../upstream/cache.ts';
import { sourceFor } from '../upstream/index.ts';
import type { SourceClient, SourceContext } from '../upstream/types.ts';
import { cliContext } from './context.ts';

/** What `kiln plan` reads from the outside; tests and `kiln up` pass their own. */
export interface PlanDeps {
  releases?: ReleaseSource | undefined;
  published?: PublishedState | undefined;
  now?: Date | undefined;
}

export interface PlanReport {
  generatedAt: string;
  /** Where the published state came from, or why it is empty. */
  publishedState: string;
  problems: (Problem & { text: string })[];
  recipes: RecipePlan[];
}

export function registerPlan(program: Command, deps: PlanDeps = {}): void {
  program
    .command('plan')
    .option('--json', 'print JSON')
    .description('poll upstreams once and print what would be built and why; enqueues nothing')
    .action(async (options: { json?: boolean }) => {
      const { config, log } = cliContext();
      const report = await runPlan(config, log, deps);
      process.stdout.write(options.json ? `${JSON.stringify(report, null, 2)}\n` : renderPlanTable(report.recipes, report.problems.map((p) => p.text), report.publishedState));
    });
}

/** Loads the recipes (broken ones are reported and skipped) and plans the rest. Enqueues nothing. */
export async function runPlan(config: Config, log: Logger, deps: PlanDeps = {}): Promise<PlanReport> {
  const now = deps.now ?? new Date();
  const { recipes, problems } = await loadRecipes([config.recipesDir]);
  for (const p of problems) log.warn({ file: p.file, line: p.line, col: p.col }, `broken recipe skipped: ${p.message}`);
  const releases = deps.releases ?? upstreamReleaseSource(config, log);
  const published = deps.published ?? emptyPublishedState;
  const plans = await planRecipes({ recipes, releases, published, now });
  return {
    generatedAt: now.toISOString(),
    publishedState: deps.published ? 'given' : 'not read: no published-state reader is wired into `kiln plan` yet, so every stream looks unpublished',
    problems: problems.map((p) => ({ ...p, text: formatProblem(p, { relativeTo: process.cwd() }) })),
    recipes: plans,
  };
}

/**
 * The real release source: src/upstream's registry, each source opened once for this run, with
 * an in-memory validator cache (a one-shot command has nothing to revalidate against).
 */
export function upstreamReleaseSource(config: Config, log: Logger): ReleaseSource {
  const ctx: SourceContext = { config, log, cache: memoryValidatorCache(), maxBodyBytes: 32 * 1024 * 1024, timeoutMs: 30_000 };
  const clients = new Map<string, SourceClient>();
  return async (recipe) => {
    const found = sourceFor(recipe.upstream);
    if (!found) throw new Error(`no upstream source for ${JSON.stringify(Object.keys(recipe.upstream))}`);
    let client = clients.get(found.source.id);
    if (!client) {
      client = found.source.open(ctx);
      clients.set(found.source.id, client);
    }
    return (await client.fetch({ recipe: recipe.name, ref: found.ref, upstream: recipe.upstream })).releases;
  };
}
