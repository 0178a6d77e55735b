/*
 * Old import path, kept only for tests another owner edits (src/upstream/debian/release-time.test.ts,
 * test/queue/cluster.test.ts): first-seen stamping is a planner port, src/plan/first-seen.ts.
 */
export { withFirstSeen } from '../plan/first-seen.ts';
