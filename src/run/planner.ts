/*
 * Old import paths, kept only for files another owner edits (src/cli/run.ts, src/cli/build.ts,
 * src/run/build-local.ts): planning lives in src/plan/ (planner.ts, cycle.ts,
 * registry-published.ts) and the builder map in ./builders.ts. Delete this file once they import
 * from there.
 */
export { configuredBuilders } from './builders.ts';
export { planCycle } from '../plan/cycle.ts';
export { registryPublishedState } from '../plan/registry-published.ts';
