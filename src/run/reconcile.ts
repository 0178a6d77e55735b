import { describeError } from '../errors.ts';
import type { PipelineContext } from '../pipeline/context.ts';
import type { RecipePlan, ReleaseSource } from '../plan/plan-recipes.ts';
import { releasesFor } from '../plan/releases-for.ts';
import type { EnqueuedFlow } from '../queue/enqueue.ts';
import type { LoadedRecipe } from '../recipe/load.ts';
import type { Release } from '../upstream/types.ts';
import { recordReconcile } from '../watch/reconcile-signal.ts';
import { restoreCatalogIfLost } from './catalog-restore.ts';

/*
 * Reconcile, don't remember (ARCHITECTURE.md): one cycle plans every recipe against the registry
 * with the releases the watcher last saw, changed or not, so whatever is missing there (a publish
 * that failed for good, a flow lost with Redis, an image lost with the registry) is queued again,
 * and whatever is pending collapses into its job. It sends no upstream request: a recipe this
 * process has not checked yet is left to its first check, which plans it the same way. Before
 * planning, a catalog lost with Redis is rebuilt from the registry. The end of every cycle is
 * recorded for /metrics (kiln_reconcile_last_run_timestamp_seconds).
 */

export interface ReconcileOptions {
  recipes: () => Promise<readonly LoadedRecipe[]>;
  /** The watcher's cached releases of a recipe; undefined when it has not been checked yet. */
  releasesOf: (recipeName: string) => Release[] | undefined;
  /** Plans and enqueues (src/run/up.ts planAndEnqueue). */
  plan: (
    recipes: readonly LoadedRecipe[],
    releases: ReleaseSource,
  ) => Promise<{ plans: RecipePlan[]; flows: Map<string, EnqueuedFlow> }>;
  /** Epoch ms, for the recorded end of the cycle. @default Date.now */
  now?: () => number;
}

export interface ReconcileReport {
  recipes: number;
  /** Recipes planned (those with cached releases). */
  planned: number;
  /** Recipes not checked yet by this process, left to their first check. */
  unchecked: string[];
  /** Flows enqueued or collapsed into a pending one. */
  enqueued: number;
  /** Records the catalog was rebuilt with, when it had been lost. */
  catalogRebuilt: number | undefined;
  finishedAt: number;
}

export async function reconcileOnce(
  ctx: PipelineContext,
  options: ReconcileOptions,
): Promise<ReconcileReport> {
  const recipes = await options.recipes();
  const catalogRebuilt = await restoreCatalogIfLost(ctx, recipes).then(
    (records) => records?.length,
    (error: unknown) => {
      ctx.log.warn(
        { err: describeError(error) },
        'could not rebuild the catalog; trying again next cycle',
      );
      return undefined;
    },
  );
  const cached = recipes.filter((r) => options.releasesOf(r.recipe.name) !== undefined);
  const unchecked = recipes
    .filter((r) => options.releasesOf(r.recipe.name) === undefined)
    .map((r) => r.recipe.name);
  const cycle =
    cached.length > 0
      ? await options.plan(
          cached,
          releasesFor((name) => options.releasesOf(name) ?? []),
        )
      : { plans: [], flows: new Map() };
  const report: ReconcileReport = {
    recipes: recipes.length,
    planned: cached.length,
    unchecked,
    enqueued: cycle.flows.size,
    catalogRebuilt,
    finishedAt: (options.now ?? Date.now)(),
  };
  await recordReconcile(ctx.redis, ctx.config.queuePrefix, {
    finishedAt: report.finishedAt,
    recipes: report.recipes,
    enqueued: report.enqueued,
  });
  ctx.log.info(
    {
      recipes: report.recipes,
      planned: report.planned,
      unchecked: unchecked.length,
      enqueued: report.enqueued,
      ...(catalogRebuilt !== undefined ? { catalogRebuilt } : {}),
    },
    'reconciled',
  );
  return report;
}
