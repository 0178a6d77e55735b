import type { Config } from '../config.ts';
import { describeError } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { RedisClient } from '../queue/connection.ts';
import type { LoadedRecipe } from '../recipe/load.ts';
import type { Release } from '../upstream/types.ts';
import { systemClock, type WatchClock } from './clock.ts';
import { changedDebianRecipes } from './debian-suites.ts';
import type { Watcher } from './types.ts';

export interface SuiteTriggerOptions {
  config: Config;
  redis: RedisClient;
  log: Logger;
  /** The current recipes; the Debian ones are polled. */
  recipes: () => Promise<readonly LoadedRecipe[]>;
  /** Checks a recipe's upstream now, for the releases it is re-planned with. */
  watcher: Pick<Watcher, 'checkNow'>;
  /** Called with a recipe of a changed suite and its releases now: re-plan it. */
  onSuiteChanged: (recipe: LoadedRecipe, releases: Release[]) => Promise<void>;
  /** Which recipes' suites changed since the last round. @default changedDebianRecipes */
  changed?: (recipes: readonly LoadedRecipe[], signal: AbortSignal) => Promise<string[]>;
  /** @default the system clock */
  clock?: WatchClock;
}

export interface SuiteTrigger {
  start(): void;
  stop(): void;
}

/**
 * The watcher's second trigger, beside the upstream poll schedule and the webhook: every poll
 * interval (the first round after at most a minute), asks the Debian archive whether the suites
 * the recipes read changed and hands each recipe of a changed suite on with its releases. Its
 * lockfile may have changed under an unchanged upstream version, which is a nano update.
 */
export function createSuiteTrigger(options: SuiteTriggerOptions): SuiteTrigger {
  const { config, log } = options;
  const clock = options.clock ?? systemClock;
  const controller = new AbortController();
  const changed =
    options.changed ??
    ((recipes, signal) => changedDebianRecipes(config, options.redis, recipes, log, signal));
  let cancel: (() => void) | undefined;
  const round = async (): Promise<void> => {
    try {
      const recipes = (await options.recipes()).filter((r) => r.recipe.build.builder === 'debian');
      for (const name of await changed(recipes, controller.signal)) {
        const loaded = recipes.find((r) => r.recipe.name === name);
        const outcome = await options.watcher.checkNow(name);
        if (loaded && outcome.ok) await options.onSuiteChanged(loaded, outcome.releases);
      }
    } catch (error) {
      log.warn(
        { err: describeError(error) },
        'Debian suite polling failed; trying again next round',
      );
    }
    if (!controller.signal.aborted) cancel = clock.after(config.pollIntervalMs, () => void round());
  };
  return {
    start() {
      cancel = clock.after(Math.min(config.pollIntervalMs, 60_000), () => void round());
    },
    stop() {
      controller.abort();
      cancel?.();
    },
  };
}
