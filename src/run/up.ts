import path from 'node:path';
import { createApiServer } from '../api/server.ts';
import type { Builder } from '../build/types.ts';
import type { Config } from '../config.ts';
import { describeError } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { PipelineContext } from '../pipeline/context.ts';
import { pipelineProcessors } from '../pipeline/processors.ts';
import type { RecipePlan, ReleaseSource } from '../plan/plan-recipes.ts';
import { redisOptions } from '../queue/connection.ts';
import { attemptsFor } from '../queue/attempts.ts';
import { enqueueBuilds, type EnqueuedFlow } from '../queue/enqueue.ts';
import { requestKey } from '../queue/ids.ts';
import { openQueues } from '../queue/queues.ts';
import { startWorkers, type PipelineWorkers } from '../queue/workers.ts';
import { formatProblem } from '../recipe/problem.ts';
import { loadRecipes, type LoadedRecipe } from '../recipe/load.ts';
import { createWatcher, webhookRoutes, type Watcher } from '../watch/index.ts';
import type { WatchClock } from '../watch/clock.ts';
import { createReconcileTrigger, type ReconcileTrigger } from '../watch/reconcile.ts';
import { recordUpstreamSeen } from '../catalog/store.ts';
import { withFirstSeen } from './first-seen.ts';
import { changedDebianRecipes, explainNanoUpdate } from './nano-updates.ts';
import { configuredBuilders, planCycle, registryPublishedState } from './planner.ts';
import { reconcileOnce } from './reconcile.ts';

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

/** What one planning pass decided and the flows it enqueued, by `requestKey` (src/queue/ids.ts). */
export interface PlannedCycle {
  plans: RecipePlan[];
  flows: Map<string, EnqueuedFlow>;
}

/**
 * Plans the given recipes against the registry with releases from `releases`, and enqueues every
 * build: a request already pending collapses into its job, one that failed or whose image the
 * registry lost goes in as a new attempt (src/queue/attempts.ts).
 */
export async function planAndEnqueue(
  ctx: PipelineContext,
  recipes: readonly LoadedRecipe[],
  releases: ReleaseSource,
  builderMap: ReadonlyMap<string, Builder>,
): Promise<PlannedCycle> {
  const observedAt = Date.now();
  const published = await registryPublishedState(ctx.registry, ctx.namespace, recipes, ctx.log);
  const stamped: ReleaseSource = async (recipe) =>
    withFirstSeen(ctx.redis, ctx.config.queuePrefix, recipe.name, await releases(recipe));
  const plans = await planCycle({
    config: ctx.config,
    log: ctx.log,
    recipes,
    releases: stamped,
    published,
    builders: builderMap,
  });
  await recordCandidates(ctx, plans);
  const decisions = plans.flatMap((p) => p.decisions);
  const builds = decisions.flatMap((d) => (d.kind === 'build' ? [d] : []));
  const requests = [];
  for (const d of builds)
    requests.push(await explainNanoUpdate(ctx.redis, ctx.config.queuePrefix, d.request));
  const attempts = await attemptsFor(ctx.redis, ctx.config.queuePrefix, requests, { observedAt });
  const enqueued = await enqueueBuilds(ctx.flows(), requests, { requestAttempts: attempts });
  const flows = new Map<string, EnqueuedFlow>();
  requests.forEach((r, i) => {
    const ids = enqueued[i];
    if (ids) flows.set(requestKey(r), ids);
    ctx.log.info(
      {
        recipe: r.recipe,
        version: r.version,
        epoch: r.epoch,
        priority: r.priority,
        reason: r.reason,
        ...(attempts[i] ? { attempt: attempts[i] } : {}),
      },
      'enqueued',
    );
  });
  for (const d of decisions) {
    if (d.kind === 'error')
      ctx.log.warn({ recipe: d.recipe, stream: d.stream, reason: d.reason }, 'not planned');
  }
  return { plans, flows };
}

/** Tells the catalog which upstream versions exist and since when: the basis of freshness and staleness. */
export async function recordCandidates(
  ctx: PipelineContext,
  plans: readonly RecipePlan[],
): Promise<void> {
  for (const plan of plans) {
    for (const d of plan.decisions) {
      if (d.kind === 'build' && d.request.upstream.releasedAt) {
        await recordUpstreamSeen(
          ctx.redis,
          ctx.config.queuePrefix,
          d.recipe,
          d.version,
          d.request.upstream.releasedAt,
        );
      }
    }
  }
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
  const recipes = () => loadRecipesLogged([recipesDir], ctx.log);
  const watcher = createWatcher({
    config: ctx.config,
    redis: ctx.redis,
    log: ctx.log,
    recipes,
    onReleases: async (loaded, releases) => {
      await planAndEnqueue(ctx, [loaded], async () => releases, builderMap);
    },
    ...(options.clock ? { clock: options.clock } : {}),
  });
  watcher.start();
  const suites = startSuitePolling(ctx, recipesDir, watcher, builderMap);
  const reconcile = createReconcileTrigger({
    intervalMs: ctx.config.reconcileIntervalMs,
    log: ctx.log.child({ part: 'reconcile' }),
    run: async () => {
      await reconcileOnce(ctx, {
        recipes,
        releasesOf: (name) => watcher.cachedReleases(name),
        plan: (list, releases) => planAndEnqueue(ctx, list, releases, builderMap),
        ...(options.clock ? { now: options.clock.now } : {}),
      });
    },
    ...(options.clock ? { clock: options.clock } : {}),
  });
  reconcile.start();
  return {
    ...watcher,
    reconcile,
    async stop() {
      suites.stop();
      await reconcile.stop();
      await watcher.stop();
    },
  };
}

/**
 * Every poll interval, asks the Debian archive whether the suites the recipes read changed
 * (one 304 each when not) and re-plans the recipes of a changed suite: their lockfile may have
 * changed under an unchanged upstream version, which is a nano update.
 */
function startSuitePolling(
  ctx: PipelineContext,
  recipesDir: string,
  watcher: Watcher,
  builderMap: ReadonlyMap<string, Builder>,
) {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const round = async () => {
    try {
      const recipes = (await loadRecipesLogged([recipesDir], ctx.log)).filter(
        (r) => r.recipe.build.builder === 'debian',
      );
      const changed = await changedDebianRecipes(
        ctx.config,
        ctx.redis,
        recipes,
        ctx.log,
        controller.signal,
      );
      for (const name of changed) {
        const loaded = recipes.find((r) => r.recipe.name === name);
        const outcome = await watcher.checkNow(name);
        if (loaded && outcome.ok)
          await planAndEnqueue(ctx, [loaded], async () => outcome.releases, builderMap);
      }
    } catch (error) {
      ctx.log.warn(
        { err: describeError(error) },
        'Debian suite polling failed; trying again next round',
      );
    }
    if (!controller.signal.aborted)
      timer = setTimeout(() => void round(), ctx.config.pollIntervalMs);
  };
  timer = setTimeout(() => void round(), Math.min(ctx.config.pollIntervalMs, 60_000));
  return {
    stop() {
      controller.abort();
      clearTimeout(timer);
    },
  };
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

/** Recipe arguments: a file path, or a name under the recipes folder. */
export function recipePaths(config: Config, args: readonly string[]): string[] {
  if (args.length === 0) return [config.recipesDir];
  return args.map((a) =>
    a.endsWith('.yaml') || a.endsWith('.yml') || a.includes('/')
      ? path.resolve(a)
      : path.join(config.recipesDir, `${a}.yaml`),
  );
}
