import { createHash } from 'node:crypto';

/*
 * Job ids are derived from what decides the work, so two watchers, a retried poll or a replayed
 * webhook enqueue the same ids and BullMQ keeps one job. BullMQ refuses `:` in custom ids and
 * Debian versions carry `:` epochs, so the id is a hash; the job's name stays readable.
 *
 * BullMQ ignores an add whose id exists in any state, failed and completed included, so a request
 * that failed for good (or whose image the registry lost) needs a new id to run again: the
 * attempt number (attempts.ts) goes into the id from the second attempt on. Attempt 0 keeps the
 * plain id, so the ids of a first attempt never change.
 */

function hashOf(parts: string[]): string {
  return createHash('sha256').update(parts.join('\0')).digest('hex').slice(0, 40);
}

const attemptSuffix = (attempt: number) => (attempt > 0 ? `-a${attempt}` : '');

export function buildJobId(
  recipe: string,
  version: string,
  inputsDigest: string,
  arch: string,
  attempt = 0,
): string {
  return `build-${hashOf(['build', recipe, version, inputsDigest, arch])}${attemptSuffix(attempt)}`;
}

export function publishJobId(
  recipe: string,
  version: string,
  inputsDigest: string,
  attempt = 0,
): string {
  return `publish-${hashOf(['publish', recipe, version, inputsDigest])}${attemptSuffix(attempt)}`;
}

/** A request's identity across its attempts (its first publish job id): what plans key flows by. */
export function requestKey(request: {
  recipe: string;
  version: string;
  inputsDigest: string;
}): string {
  return publishJobId(request.recipe, request.version, request.inputsDigest);
}
