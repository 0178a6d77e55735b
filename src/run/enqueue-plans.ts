import type { PipelineContext } from '../pipeline/context.ts';
import type { RecipePlan } from '../plan/plan-recipes.ts';
import { attemptsFor } from '../queue/attempts.ts';
import { enqueueBuilds, type EnqueuedFlow } from '../queue/enqueue.ts';
import { requestKey } from '../queue/ids.ts';

/** What one planning pass decided and the flows it enqueued, by `requestKey` (src/queue/ids.ts). */
export interface PlannedCycle {
  plans: RecipePlan[];
  flows: Map<string, EnqueuedFlow>;
}

/**
 * Enqueues every build the planner decided, as decided: a request already pending collapses
 * into its job, one that failed or whose image the registry lost goes in as a new attempt
 * (src/queue/attempts.ts). `observedAt` is when the pass began.
 */
export async function enqueuePlans(
  ctx: PipelineContext,
  plans: RecipePlan[],
  observedAt: number,
): Promise<PlannedCycle> {
  const decisions = plans.flatMap((p) => p.decisions);
  const requests = decisions.flatMap((d) => (d.kind === 'build' ? [d.request] : []));
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
