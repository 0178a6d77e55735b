import type { Logger } from '../log.ts';
import type { RegistryClient } from '../oci/registry-client.ts';
import type { RedisClient } from '../queue/connection.ts';
import { catalogCandidates } from './candidates.ts';
import { redisFirstSeen } from './first-seen.ts';
import { lockfileNanoUpdates } from './nano-updates.ts';
import type { PlannerPorts } from './ports.ts';
import { registryPublished } from './registry-published.ts';
import { catalogSecurityFixes } from './security-fixes.ts';

/** Where the real ports live: the pipeline's Redis (under `prefix`) and its registry. */
export interface RealPortsContext {
  redis: RedisClient;
  prefix: string;
  registry: RegistryClient;
  namespace: string;
  log: Logger;
}

/** The planner's ports over the real parts: what `kiln up` and `kiln watch` plan with. */
export function realPlannerPorts(ctx: RealPortsContext): PlannerPorts {
  return {
    published: registryPublished(ctx.registry, ctx.namespace, ctx.log),
    firstSeen: redisFirstSeen(ctx.redis, ctx.prefix),
    candidates: catalogCandidates(ctx.redis, ctx.prefix),
    nanoUpdates: lockfileNanoUpdates(ctx.redis, ctx.prefix),
    securityFixes: catalogSecurityFixes(ctx.redis, ctx.prefix),
  };
}
