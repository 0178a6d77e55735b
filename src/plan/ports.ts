import type { FixableCve } from '../catalog/cves.ts';
import type { BuildRequest } from '../model/build-request.ts';
import type { LoadedRecipe } from '../recipe/load.ts';
import type { UpstreamRelease } from '../versioning/release.ts';
import type { PublishedState } from './published-state.ts';

/*
 * What the planner reads from and tells the outside, one small interface each. Their real
 * implementations sit beside them in plan/ (Redis, the registry, the catalog); `realPlannerPorts`
 * (real-ports.ts) builds all four. A port left out is a memory this run does not keep:
 * `kiln plan` and `kiln build` leave out the three that write, so a dry run writes nothing.
 */

/** What the registry holds for the recipes: the source of truth the planner compares against. */
export interface PublishedStatePort {
  read(recipes: readonly LoadedRecipe[]): Promise<PublishedState>;
}

/** Gives releases without a publication time the time kiln first saw them (first-seen.ts). */
export interface FirstSeenPort {
  stamp(recipe: string, releases: readonly UpstreamRelease[]): Promise<UpstreamRelease[]>;
}

/** Records which upstream versions exist and since when, for freshness (candidates.ts). */
export interface CandidatePort {
  record(recipe: string, version: string, releasedAt: string): Promise<void>;
}

/**
 * Explains a nano update (same version, new resolved inputs): which packages changed since the
 * inputs last planned for this recipe and stream, at what priority; and remembers the new inputs
 * (nano-updates.ts). Returns the request's final priority and reason.
 */
export interface NanoUpdatePort {
  explain(request: BuildRequest): Promise<Pick<BuildRequest, 'priority' | 'reason'>>;
}

/**
 * CVE-driven rebuilds: the fixable CVEs (their fix already in one of the image's suites, by the
 * last vuln scan of the stream's published head) that a build's resolved inputs fix
 * (security-fixes.ts). A build that fixes any is a security build whose reason names them.
 */
export interface SecurityFixPort {
  fixesFor(request: BuildRequest): Promise<FixableCve[]>;
}

export interface PlannerPorts {
  published: PublishedStatePort;
  firstSeen?: FirstSeenPort | undefined;
  candidates?: CandidatePort | undefined;
  nanoUpdates?: NanoUpdatePort | undefined;
  securityFixes?: SecurityFixPort | undefined;
}
