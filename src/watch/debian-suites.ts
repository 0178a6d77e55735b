import { z } from 'zod';
import type { Config } from '../config.ts';
import { hostSuiteSources } from '../debian/sources.ts';
import { pollSuite } from '../debian/suite-watch.ts';
import { describeError } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { RedisClient } from '../queue/connection.ts';
import { redisKeys } from '../queue/keys.ts';
import type { LoadedRecipe } from '../recipe/load.ts';

/*
 * Which Debian recipes' suites changed since the last poll: the question the suite trigger
 * (suite-trigger.ts) asks every round. The archive's InRelease files are polled with their
 * validators (an unchanged suite costs one 304); what a suite is and how it is fetched is
 * src/debian's.
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
    const key = redisKeys(config.queuePrefix).debianSuite(source.mirror, source.suite);
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
