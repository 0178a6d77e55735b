import type { RedisClient } from '../queue/connection.ts';
import type { Config } from '../config.ts';
import { describeError } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { ReleaseSource } from '../plan/plan-recipes.ts';
import { releasesFor } from '../plan/releases-for.ts';
import type { LoadedRecipe } from '../recipe/load.ts';
import type { WatcherOptions } from './types.ts';
import { createWatcher } from './watcher.ts';

/**
 * Releases for a one-shot command (`kiln plan`, `kiln build`, `kiln up --once`, `kiln lint
 * --upstream`): one full watcher cycle, so GitHub recipes share GraphQL batches under the rate
 * budget and, with a Redis, conditional requests reuse the watcher's validator cache. The
 * watcher is the one place that opens upstream sources, and src/plan/releases-for.ts the one place
 * that makes a release source of what it gave.
 */
export async function releasesOnce(
  ctx: { config: Config; log: Logger; redis?: RedisClient | undefined },
  recipes: readonly LoadedRecipe[],
  options: Pick<WatcherOptions, 'sourceOptions'> = {},
): Promise<ReleaseSource> {
  const watcher = createWatcher({
    config: ctx.config,
    ...(ctx.redis ? { redis: ctx.redis } : {}),
    log: ctx.log,
    recipes: () => recipes,
    onReleases: () => {},
    ...(options.sourceOptions ? { sourceOptions: options.sourceOptions } : {}),
  });
  const outcomes = await watcher.checkAll();
  await watcher.stop();
  return releasesFor((name) => {
    const outcome = outcomes.get(name);
    if (!outcome) throw new Error(`no upstream source could check ${name}`);
    if (!outcome.ok) throw new Error(describeError(outcome.error));
    return outcome.releases;
  });
}
