import { createHash } from 'node:crypto';

/*
 * Job ids are derived from what decides the work, so two watchers, a retried poll or a replayed
 * webhook enqueue the same ids and BullMQ keeps one job. BullMQ refuses `:` in custom ids and
 * Debian versions carry `:` epochs, so the id is a hash; the job's name stays readable.
 */

function hashOf(parts: string[]): string {
  return createHash('sha256').update(parts.join('\0')).digest('hex').slice(0, 40);
}

export function buildJobId(
  recipe: string,
  version: string,
  inputsDigest: string,
  arch: string,
): string {
  return `build-${hashOf(['build', recipe, version, inputsDigest, arch])}`;
}

export function publishJobId(recipe: string, version: string, inputsDigest: string): string {
  return `publish-${hashOf(['publish', recipe, version, inputsDigest])}`;
}
