import { recordUpstreamSeen } from '../catalog/store.ts';
import type { RedisClient } from '../queue/connection.ts';
import type { CandidatePort } from './ports.ts';

/** The candidate port over the catalog: the basis of freshness and staleness on the pages. */
export function catalogCandidates(redis: RedisClient, prefix: string): CandidatePort {
  return {
    record: (recipe, version, releasedAt) =>
      recordUpstreamSeen(redis, prefix, recipe, version, releasedAt),
  };
}
