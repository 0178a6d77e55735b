import type { RedisClient } from '../queue/connection.ts';
import { z } from 'zod';
import { lockfileSchema, type Lockfile } from '../debian/lockfile.ts';
import { describeLockfileChange } from '../debian/suite-watch.ts';
import type { BuildRequest } from '../model/build-request.ts';
import { redisKeys } from '../queue/keys.ts';
import type { NanoUpdatePort } from './ports.ts';

/*
 * Nano updates: an image must be rebuilt when a package in it changes, even though its upstream
 * version did not. The watcher's suite trigger (src/watch/debian-suites.ts) re-plans the recipes
 * of a changed suite, and the planner's fresh lockfile decides whether anything changed. Here the
 * planner remembers the lockfiles it last planned per recipe and stream, and turns the diff into
 * the build's reason (and so its provenance); a change from a security suite jumps the queue.
 * What a lockfile is and how two compare is src/debian's (lockfile.ts, suite-watch.ts).
 */

const resolvedLockfile = z.object({ lockfile: lockfileSchema });

function lockfilesOf(request: BuildRequest): Map<string, Lockfile> {
  const out = new Map<string, Lockfile>();
  for (const [arch, value] of Object.entries(request.resolved ?? {})) {
    const parsed = resolvedLockfile.safeParse(value);
    if (parsed.success) out.set(arch, parsed.data.lockfile);
  }
  return out;
}

/**
 * For a nano update (same version, new inputs), says which packages changed since the lockfile
 * last enqueued for this recipe and version, and raises the priority when a security suite is
 * why. Remembers the new lockfiles for next time.
 */
export async function explainNanoUpdate(
  redis: RedisClient,
  prefix: string,
  request: BuildRequest,
): Promise<BuildRequest> {
  const current = lockfilesOf(request);
  if (current.size === 0) return request;
  const key = redisKeys(prefix).lockfiles(request.recipe, request.stream);
  const stored = await redis.hgetall(key);
  let updated = request;
  if (request.epoch > 0) {
    const reasons: string[] = [];
    let security = false;
    for (const [arch, lock] of current) {
      const before = stored[arch] ? lockfileSchema.safeParse(JSON.parse(stored[arch])) : undefined;
      if (!before?.success) continue;
      const change = describeLockfileChange(before.data, lock);
      if (change.packages.length === 0) continue;
      security ||= change.security;
      reasons.push(`${arch}: ${change.reason}`);
    }
    if (reasons.length > 0) {
      updated = {
        ...request,
        priority: security ? 'security' : request.priority,
        reason: `${request.reason}; ${[...new Set(reasons)].join('; ')}`,
      };
    }
  }
  await redis.hset(
    key,
    Object.fromEntries([...current].map(([arch, lock]) => [arch, JSON.stringify(lock)])),
  );
  return updated;
}

/** The nano-update port over Redis: lockfiles under `P:lockfiles:<recipe>:<stream>` (src/queue/keys.ts). */
export function lockfileNanoUpdates(redis: RedisClient, prefix: string): NanoUpdatePort {
  return {
    async explain(request) {
      const { priority, reason } = await explainNanoUpdate(redis, prefix, request);
      return { priority, reason };
    },
  };
}
