import type { Command } from 'commander';
import type { Config } from '../config.ts';
import type { Logger } from '../log.ts';
import { emptyPublishedState, type PublishedState } from '../plan/published-state.ts';
import { planRecipes, type RecipePlan, type ReleaseSource } from '../plan/plan-recipes.ts';
import { renderPlanTable } from '../plan/render.ts';
import { loadRecipes } from '../recipe/load.ts';
import { formatProblem, type Problem } from '../recipe/problem.ts';
import type { Recipe } from '../recipe/schema.ts';
import type { UpstreamRelease } from '../versioning/release.ts';
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
  const releases = deps.releases ?? (await upstreamReleaseSource(config, log));
  const published = deps.published ?? emptyPublishedState;
  const plans = await planRecipes({ recipes, releases, published, now });
  return {
    generatedAt: now.toISOString(),
    publishedState: deps.published ? 'given' : 'not read: no published-state reader is wired into `kiln plan` yet, so every stream looks unpublished',
    problems: problems.map((p) => ({ ...p, text: formatProblem(p, { relativeTo: process.cwd() }) })),
    recipes: plans,
  };
}

/** The part of src/upstream's registry this command uses, checked at run time. */
interface SourceLike {
  id: string;
  refOf(upstream: Recipe['upstream']): string | undefined;
  open(ctx: unknown): { fetch(item: { recipe: string; ref: string; upstream: Recipe['upstream'] }): Promise<{ releases: UpstreamRelease[] }> };
}

function isSourceLike(value: unknown): value is SourceLike {
  return (
    typeof value === 'object' &&
    value !== null &&
    'id' in value &&
    typeof value.id === 'string' &&
    'refOf' in value &&
    typeof value.refOf === 'function' &&
    'open' in value &&
    typeof value.open === 'function'
  );
}

/**
 * The real release source: src/upstream's registry (a Map of sources exported from its
 * index.ts), opened with an in-memory validator cache. While src/upstream has not landed, every
 * recipe gets a clear error instead.
 */
async function upstreamReleaseSource(config: Config, log: Logger): Promise<ReleaseSource> {
  const registryModule = '../upstream/index.ts';
  const cacheModule = '../upstream/cache.ts';
  let sources: SourceLike[] = [];
  let cache: unknown;
  try {
    const mod: unknown = await import(registryModule);
    const exported = typeof mod === 'object' && mod !== null ? Object.values(mod) : [];
    const registry = exported.find((v): v is Map<unknown, unknown> => v instanceof Map && [...v.values()].some(isSourceLike));
    sources = registry ? [...registry.values()].filter(isSourceLike) : [];
    const cacheMod: unknown = await import(cacheModule);
    const makeCache = typeof cacheMod === 'object' && cacheMod !== null && 'memoryValidatorCache' in cacheMod ? cacheMod.memoryValidatorCache : undefined;
    cache = typeof makeCache === 'function' ? makeCache() : undefined;
  } catch (error) {
    log.debug({ err: error }, 'src/upstream registry not available');
  }
  const ctx = { config, log, cache, maxBodyBytes: 32 * 1024 * 1024, timeoutMs: 30_000 };
  const clients = new Map<string, ReturnType<SourceLike['open']>>();
  return async (recipe) => {
    for (const source of sources) {
      const ref = source.refOf(recipe.upstream);
      if (ref === undefined) continue;
      let client = clients.get(source.id);
      if (!client) {
        client = source.open(ctx);
        clients.set(source.id, client);
      }
      return (await client.fetch({ recipe: recipe.name, ref, upstream: recipe.upstream })).releases;
    }
    const wanted = Object.keys(recipe.upstream).find((k) => ['github', 'npm', 'pypi', 'crates', 'go', 'oci', 'debian'].includes(k)) ?? '?';
    throw new Error(`no upstream source for \`${wanted}\` is available (src/upstream registry ${sources.length === 0 ? 'not found' : `has ${sources.map((s) => s.id).join(', ')}`})`);
  };
}
