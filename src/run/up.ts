import path from 'node:path';
import { createApiServer } from '../api/server.ts';
import type { Builder } from '../build/types.ts';
import type { Config } from '../config.ts';
import type { Logger } from '../log.ts';
import type { PipelineContext } from '../pipeline/context.ts';
import { pipelineProcessors } from '../pipeline/processors.ts';
import type { ReleaseSource } from '../plan/plan-recipes.ts';
import { createPlanner, type Planner } from '../plan/planner.ts';
import { realPlannerPorts } from '../plan/real-ports.ts';
import { releasesFor } from '../plan/releases-for.ts';
import { redisOptions } from '../queue/connection.ts';
import { openQueues } from '../queue/queues.ts';
import { startWorkers, type PipelineWorkers } from '../queue/workers.ts';
import type { LoadedRecipe } from '../recipe/load.ts';
import { createWatcher, webhookRoutes, type Watcher } from '../watch/index.ts';
import type { WatchClock } from '../watch/clock.ts';
import { createReconcileTrigger, type ReconcileTrigger } from '../watch/reconcile.ts';
import { createSuiteTrigger } from '../watch/suite-trigger.ts';
import { createVulnTrigger } from '../watch/vuln-trigger.ts';
import { configuredBuilders } from './builders.ts';
import { enqueuePlans, type PlannedCycle } from './enqueue-plans.ts';
import { loadRecipesLogged } from './recipe-args.ts';
import { reconcileOnce } from './reconcile.ts';

/** The build and publish workers over the real processors. */
export function startPipelineWorkers(
  ctx: PipelineContext,
  queues?: ('build' | 'publish')[],
): PipelineWorkers {
  const { config } = ctx;
  return startWorkers({
    connection: redisOptions(config.redisUrl ?? ''),
    prefix: config.queuePrefix,
    concurrency: config.concurrency,
    processors: pipelineProcessors(ctx),
    log: ctx.log.child({ part: 'worker' }),
    // The builder enforces the build timeout itself and fails transiently; this is the backstop.
    jobTimeoutMs: config.buildTimeoutMs + 5 * 60_000,
    ...(queues ? { queues } : {}),
  });
}

export type { PlannedCycle } from './enqueue-plans.ts';
// In their own light module, so `kiln build` loads them without the pipeline's server and queues.
export { loadRecipesLogged, recipePaths } from './recipe-args.ts';

/** The planner over the pipeline's real parts: its registry, its Redis, its catalog. */
export function pipelinePlanner(
  ctx: PipelineContext,
  builderMap: ReadonlyMap<string, Builder>,
): Planner {
  return createPlanner({
    builders: builderMap,
    log: ctx.log,
    ports: realPlannerPorts({
      redis: ctx.redis,
      prefix: ctx.config.queuePrefix,
      registry: ctx.registry,
      namespace: ctx.namespace,
      log: ctx.log,
    }),
  });
}

/**
 * Plans the given recipes with releases from `releases` (src/plan: final decisions) and enqueues
 * every build (src/queue). `planner` defaults to the pipeline's (pipelinePlanner).
 */
export async function planAndEnqueue(
  ctx: PipelineContext,
  recipes: readonly LoadedRecipe[],
  releases: ReleaseSource,
  builderMap: ReadonlyMap<string, Builder>,
  planner: Planner = pipelinePlanner(ctx, builderMap),
): Promise<PlannedCycle> {
  const observedAt = Date.now();
  return enqueuePlans(ctx, await planner.plan(recipes, releases), observedAt);
}

export interface PlanningWatcherOptions {
  /** The watcher's and the reconcile trigger's time. @default the system clock */
  clock?: WatchClock;
}

/** A planning watcher and its reconcile trigger (`reconcile.runNow()` runs a full cycle now). */
export interface PlanningWatcher extends Watcher {
  reconcile: ReconcileTrigger;
}

/**
 * A watcher whose every new answer from an upstream is planned and, where needed, enqueued, and
 * a reconcile cycle at start-up and every KILN_RECONCILE_INTERVAL that plans every recipe again
 * with the releases the watcher last saw (src/run/reconcile.ts): what `kiln up` and `kiln watch` run.
 */
export function startPlanningWatcher(
  ctx: PipelineContext,
  recipesDir: string,
  options: PlanningWatcherOptions = {},
): PlanningWatcher {
  const builderMap = configuredBuilders(ctx.config);
  const planner = pipelinePlanner(ctx, builderMap);
  const plan = (list: readonly LoadedRecipe[], releases: ReleaseSource) =>
    planAndEnqueue(ctx, list, releases, builderMap, planner);
  const recipes = () => loadRecipesLogged([recipesDir], ctx.log);
  const clock = options.clock ? { clock: options.clock } : {};
  const watcher = createWatcher({
    config: ctx.config,
    redis: ctx.redis,
    log: ctx.log,
    recipes,
    // The other streams' upstreams (src/recipe/streams.ts) plan with what was last seen of them.
    onReleases: async (loaded, releases, info) => {
      await plan(
        [loaded],
        releasesFor((key) => (key === info.key ? releases : (watcher.cachedReleases(key) ?? []))),
      );
    },
    ...clock,
  });
  const suites = createSuiteTrigger({
    config: ctx.config,
    redis: ctx.redis,
    log: ctx.log,
    recipes,
    watcher,
    onSuiteChanged: async (loaded, releases) => {
      await plan(
        [loaded],
        releasesFor((key) =>
          key === loaded.recipe.name ? releases : (watcher.cachedReleases(key) ?? []),
        ),
      );
    },
    ...clock,
  });
  const reconcile = createReconcileTrigger({
    intervalMs: ctx.config.reconcileIntervalMs,
    log: ctx.log.child({ part: 'reconcile' }),
    run: async () => {
      await reconcileOnce(ctx, {
        recipes,
        releasesOf: (name) => watcher.cachedReleases(name),
        plan,
        ...(options.clock ? { now: options.clock.now } : {}),
      });
    },
    ...clock,
  });
  const vulns = createVulnTrigger({
    config: ctx.config,
    redis: ctx.redis,
    log: ctx.log.child({ part: 'vuln' }),
    recipes,
    watcher,
    onFixable: async (loaded, releases) => {
      await plan(
        [loaded],
        releasesFor((key) =>
          key === loaded.recipe.name ? releases : (watcher.cachedReleases(key) ?? []),
        ),
      );
    },
    ...clock,
  });
  watcher.attach(suites);
  watcher.attach(vulns);
  watcher.attach(reconcile);
  watcher.start();
  return Object.assign(watcher, { reconcile });
}

/** The API server over this process's Redis and queues, listening on KILN_API_HOST:KILN_API_PORT. */
export async function startApi(ctx: PipelineContext, watcher?: Watcher) {
  const connection = redisOptions(ctx.config.redisUrl ?? '');
  const queues = openQueues({ connection, prefix: ctx.config.queuePrefix }).all;
  const app = await createApiServer({
    config: ctx.config,
    redis: ctx.redis,
    queues,
    log: ctx.log,
    ...(watcher ? { watcherRoutes: webhookRoutes(watcher, ctx.config, ctx.log) } : {}),
  });
  await app.listen({ host: ctx.config.apiHost, port: ctx.config.apiPort });
  ctx.log.info(
    { url: `http://${ctx.config.apiHost}:${ctx.config.apiPort}/` },
    'API and catalog listening',
  );
  return {
    app,
    async close() {
      await app.close();
      await Promise.all(queues.map((q) => q.close()));
    },
  };
}
