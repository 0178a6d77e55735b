import type { RedisClient } from '../queue/connection.ts';
import { z } from 'zod';
import type { Config } from '../config.ts';
import { describeError } from '../errors.ts';
import type { Logger } from '../log.ts';
import { lockfileSchema, type Lockfile } from '../debian/lockfile.ts';
import { hostSuiteSources } from '../debian/sources.ts';
import { describeLockfileChange, pollSuite } from '../debian/suite-watch.ts';
import type { BuildRequest } from '../model/build-request.ts';
import type { LoadedRecipe } from '../recipe/load.ts';
import { redisKeys } from '../queue/keys.ts';

/*
 * Nano updates: a Debian image must be rebuilt when a package in it changes, even though its
 * upstream version did not. The archive's InRelease files are polled (an unchanged suite costs
 * one 304); a changed suite re-plans the recipes that read it, and the planner's fresh lockfile
 * decides whether anything changed. The lockfile diff becomes the build's reason (and so its
 * provenance), and a change from a security suite jumps the queue.
 */

const suiteStateSchema = z.object({
  etag: z.string().optional(),
  lastModified: z.string().optional(),
  sha256: z.string().optional(),
});

/** The suites each Debian recipe reads. */
export function suitesOf(recipes: readonly LoadedRecipe[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const loaded of recipes) {
    for (const suite of loaded.recipe.build.contents?.suites ?? []) {
      out.set(suite, [...(out.get(suite) ?? []), loaded.recipe.name]);
    }
  }
  return out;
}

/** Polls every suite the recipes read; returns the names of the recipes whose suites changed. */
export async function changedDebianRecipes(
  config: Config,
  redis: RedisClient,
  recipes: readonly LoadedRecipe[],
  log: Logger,
  signal?: AbortSignal,
): Promise<string[]> {
  const bySuite = suitesOf(recipes);
  if (bySuite.size === 0) return [];
  const sources = await hostSuiteSources([...bySuite.keys()], config);
  const affected = new Set<string>();
  for (const source of sources) {
    const key = `${config.queuePrefix}:debian-suite:${source.mirror}:${source.suite}`;
    const stored = await redis.get(key);
    const previous = stored ? suiteStateSchema.safeParse(JSON.parse(stored)).data : undefined;
    try {
      const check = await pollSuite(source, previous, signal);
      await redis.set(key, JSON.stringify(check.state));
      if (check.changed && previous) {
        log.info(
          { suite: source.suite },
          'Debian suite changed: re-planning the recipes that read it',
        );
        for (const name of bySuite.get(source.suite) ?? []) affected.add(name);
      }
    } catch (error) {
      log.warn(
        { suite: source.suite, err: describeError(error) },
        'could not poll the Debian suite; trying again next round',
      );
    }
  }
  return [...affected];
}

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
