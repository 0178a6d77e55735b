import type { Builder } from '../build/types.ts';
import type { Logger } from '../log.ts';
import type { LoadedRecipe } from '../recipe/load.ts';
import { planCycle } from './cycle.ts';
import type { Decision } from './decide.ts';
import type { RecipePlan, ReleaseSource } from './plan-recipes.ts';
import type { NanoUpdatePort, PlannerPorts } from './ports.ts';
import { securityReason } from './security-fixes.ts';
import type { BuildRequest } from '../model/build-request.ts';

/*
 * Planning as one service. A pass reads the published state, stamps releases with their
 * first-seen time, plans (selection, resolved inputs, inputs digest, decision), settles each
 * nano update's priority and reason, and records the candidates. What it returns is final:
 * nothing downstream rewrites a decision, the queue only enqueues it.
 */

export interface PlannerOptions {
  builders: ReadonlyMap<string, Builder>;
  ports: PlannerPorts;
  log: Logger;
  /** Resolve builder inputs (Debian lockfiles), so nano updates show. @default true */
  resolve?: boolean | undefined;
}

export interface PlanPassOptions {
  /** @default now */
  now?: Date | undefined;
  signal?: AbortSignal | undefined;
}

export interface Planner {
  /** Plans the recipes with releases from `releases` (one `releasesFor` per cycle, releases-for.ts). */
  plan(
    recipes: readonly LoadedRecipe[],
    releases: ReleaseSource,
    options?: PlanPassOptions,
  ): Promise<RecipePlan[]>;
}

export function createPlanner(options: PlannerOptions): Planner {
  const { ports } = options;
  return {
    async plan(recipes, releases, pass = {}) {
      const published = await ports.published.read(recipes);
      const plans = await planCycle({
        recipes,
        releases: stamped(releases, ports),
        published,
        builders: options.builders,
        ...(pass.now ? { now: pass.now } : {}),
        ...(pass.signal ? { signal: pass.signal } : {}),
        ...(options.resolve === false ? { resolve: false } : {}),
      });
      await recordCandidates(plans, ports);
      return settleNanoUpdates(plans, ports);
    },
  };
}

/** Releases with the first-seen stamp, when the port is there. */
function stamped(releases: ReleaseSource, ports: PlannerPorts): ReleaseSource {
  const { firstSeen } = ports;
  if (!firstSeen) return releases;
  return async (recipe) => firstSeen.stamp(recipe.name, await releases(recipe));
}

/** Tells the catalog which upstream versions exist and since when: the basis of freshness. */
async function recordCandidates(plans: readonly RecipePlan[], ports: PlannerPorts): Promise<void> {
  if (!ports.candidates) return;
  for (const d of plans.flatMap((p) => p.decisions)) {
    if (d.kind === 'build' && d.request.upstream.releasedAt)
      await ports.candidates.record(d.recipe, d.version, d.request.upstream.releasedAt);
  }
}

/** A build that picks up fixable CVEs (the vuln scan's) is a security build naming them. */
async function withSecurityFixes(
  request: BuildRequest,
  ports: PlannerPorts,
): Promise<Pick<BuildRequest, 'priority' | 'reason'>> {
  const fixes = (await ports.securityFixes?.fixesFor(request)) ?? [];
  if (fixes.length === 0) return request;
  return { priority: 'security', reason: `${request.reason}; ${securityReason(fixes)}` };
}

/**
 * Each build's final priority and reason: a nano update names its changed packages, and a build
 * that fixes CVEs of the published image names them (security priority).
 */
async function settleNanoUpdates(
  plans: readonly RecipePlan[],
  ports: PlannerPorts,
): Promise<RecipePlan[]> {
  const nanoUpdates: NanoUpdatePort = ports.nanoUpdates ?? { explain: async (r) => r };
  if (!ports.nanoUpdates && !ports.securityFixes) return [...plans];
  const out: RecipePlan[] = [];
  for (const plan of plans) {
    const decisions: Decision[] = [];
    for (const d of plan.decisions) {
      if (d.kind !== 'build') {
        decisions.push(d);
        continue;
      }
      const nano = await nanoUpdates.explain(d.request);
      const { priority, reason } = await withSecurityFixes({ ...d.request, ...nano }, ports);
      decisions.push({ ...d, reason, request: { ...d.request, priority, reason } });
    }
    out.push({ ...plan, decisions });
  }
  return out;
}
