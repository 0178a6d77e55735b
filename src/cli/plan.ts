import type { Command } from 'commander';
import type { Config } from '../config.ts';
import type { Logger } from '../log.ts';
import { emptyPublishedState, type PublishedState } from '../plan/published-state.ts';
import type { RecipePlan, ReleaseSource } from '../plan/plan-recipes.ts';
import type { Decision } from '../plan/decide.ts';
import { createPlanner } from '../plan/planner.ts';
import { givenPublished, registryPublishedState } from '../plan/registry-published.ts';
import { describeError } from '../errors.ts';
import { registryClientFor, splitRegistry } from '../oci/registry-from-config.ts';
import { configuredBuilders } from '../run/builders.ts';
import { readEndpoints } from '../run/local-defaults.ts';
import { loadRecipes, type LoadedRecipe } from '../recipe/load.ts';
import { formatProblem, type Problem } from '../recipe/problem.ts';
import { releasesOnce } from '../watch/releases-once.ts';
import { openCacheRedis } from './cache-redis.ts';
import { cliContext } from './context.ts';
import { printResult, renderTable, type ColorName } from './table.ts';

/** What `kiln plan` reads from the outside; tests and `kiln up` pass their own. */
export interface PlanDeps {
  releases?: ReleaseSource | undefined;
  /** Resolve builder inputs (Debian lockfiles) so nano updates show; default true. */
  resolve?: boolean | undefined;
  published?: PublishedState | undefined;
  now?: Date | undefined;
}

export interface PlanReport {
  generatedAt: string;
  /** Where the published state came from, or why it is empty. */
  publishedState: string;
  /** Where upstream validators (ETags) came from: the watcher's Redis cache, or memory. */
  validatorCache: string;
  problems: (Problem & { text: string })[];
  recipes: RecipePlan[];
}

export function registerPlan(program: Command, deps: PlanDeps = {}): void {
  program
    .command('plan')
    .option('--json', 'print JSON')
    .option(
      '--no-resolve',
      'skip resolving builder inputs (Debian lockfiles): faster, but blind to nano updates',
    )
    .description('poll upstreams once and print what would be built and why; enqueues nothing')
    .action(async (options: { json?: boolean; resolve?: boolean }) => {
      const { config, log } = cliContext();
      const report = await runPlan(config, log, { resolve: options.resolve, ...deps });
      printResult(report, { json: options.json, human: renderPlan });
    });
}

/**
 * Loads the recipes (broken ones are reported and skipped), checks their upstreams as one watcher
 * cycle (src/watch/releases-once.ts: batched and budgeted, with the watcher's Redis validator cache
 * when there is a Redis), and plans them exactly as `kiln up` does (src/plan/planner.ts: same
 * inputs digest, same resolved inputs), against what the registry holds when one is configured or
 * a `kiln up` is running. Enqueues nothing.
 */
export async function runPlan(
  config: Config,
  log: Logger,
  deps: PlanDeps = {},
): Promise<PlanReport> {
  const now = deps.now ?? new Date();
  const { recipes, problems } = await loadRecipes([config.recipesDir]);
  for (const p of problems)
    log.warn({ file: p.file, line: p.line, col: p.col }, `broken recipe skipped: ${p.message}`);
  const cache = deps.releases ? undefined : await openCacheRedis(config, log);
  try {
    const releases =
      deps.releases ?? (await releasesOnce({ config, log, redis: cache?.redis }, recipes));
    const { published, note } = deps.published
      ? { published: deps.published, note: 'given' }
      : await publishedFromRegistry(config, recipes, log);
    // A dry run keeps no memory: no first-seen stamps, candidates or nano-update lockfiles.
    const planner = createPlanner({
      builders: configuredBuilders(config),
      log,
      ports: { published: givenPublished(published) },
      resolve: deps.resolve !== false,
    });
    const plans = await planner.plan(recipes, releases, { now });
    return {
      generatedAt: now.toISOString(),
      publishedState: note,
      validatorCache: cache?.note ?? 'given releases',
      problems: problems.map((p) => ({
        ...p,
        text: formatProblem(p, { relativeTo: process.cwd() }),
      })),
      recipes: plans,
    };
  } finally {
    await cache?.close();
  }
}

/** The registry's state: KILN_REGISTRY, else the registry a running `kiln up` started. */
async function publishedFromRegistry(
  config: Config,
  recipes: readonly LoadedRecipe[],
  log: Logger,
): Promise<{ published: PublishedState; note: string }> {
  const registry = config.registry ?? (await readEndpoints(config.stateDir))?.registry;
  if (!registry) {
    return {
      published: emptyPublishedState,
      note: 'no registry configured (KILN_REGISTRY): every stream looks unpublished',
    };
  }
  const { host, namespace } = splitRegistry(registry);
  try {
    const client = await registryClientFor(host, config);
    return {
      published: await registryPublishedState(client, namespace, recipes, log),
      note: `read from ${registry}`,
    };
  } catch (error) {
    return {
      published: emptyPublishedState,
      note: `could not read ${registry}: ${describeError(error)}`,
    };
  }
}

const kindColor: Record<Decision['kind'], ColorName> = {
  build: 'yellow',
  'up-to-date': 'green',
  held: 'cyan',
  error: 'red',
};

/** The plan for people: one line per recipe stream, then a summary; `--json` is for programs. */
export function renderPlan(report: PlanReport, color = false): string {
  const rows = report.recipes.flatMap((p) => p.decisions);
  const table = renderTable(
    rows,
    [
      { header: 'RECIPE', value: (d) => d.recipe },
      { header: 'STREAM', value: (d) => d.stream },
      { header: 'PUBLISHED', value: (d) => d.published ?? '-' },
      { header: 'CANDIDATE', value: (d) => d.candidate ?? '-' },
      {
        header: 'DECISION',
        value: (d) => (d.kind === 'build' ? `build ${d.version}-r${d.epoch}` : d.kind),
        color: (d) => kindColor[d.kind],
      },
      {
        header: 'REASON',
        value: (d) => (d.kind === 'build' ? `${d.reason}; tags ${d.tags.join(' ')}` : d.reason),
      },
    ],
    { color },
  );
  const counts = new Map<string, number>();
  for (const d of rows) counts.set(d.kind, (counts.get(d.kind) ?? 0) + 1);
  const out = [
    table,
    `${report.recipes.length} recipes, ${rows.length} streams: ${[...counts].map(([k, n]) => `${n} ${k}`).join(', ') || 'nothing to do'}; nothing enqueued`,
    `published state: ${report.publishedState}`,
    `upstream validators: ${report.validatorCache}`,
  ];
  if (report.problems.length > 0)
    out.push(
      '',
      `${report.problems.length} problem(s) in recipes that were skipped:`,
      ...report.problems.map((p) => `  ${p.text}`),
    );
  return `${out.join('\n')}\n`;
}
