import type { CveSummary } from '../catalog/cves.ts';
import type { Config } from '../config.ts';
import { describeError } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { RedisClient } from '../queue/connection.ts';
import type { LoadedRecipe } from '../recipe/load.ts';
import type { Release } from '../upstream/types.ts';
import { scanCatalog, type CatalogScan } from '../vuln/catalog-scan.ts';
import { systemClock, type WatchClock } from './clock.ts';
import type { Watcher } from './types.ts';

export interface VulnTriggerOptions {
  config: Pick<Config, 'vulnFeed' | 'cacheDir' | 'queuePrefix' | 'pollIntervalMs'>;
  redis: RedisClient;
  log: Logger;
  /** The current recipes: the catalog's images of these are scanned. */
  recipes: () => Promise<readonly LoadedRecipe[]>;
  /** The releases a recipe is re-planned with: the watcher's last answer, else a check now. */
  watcher: Pick<Watcher, 'checkNow' | 'cachedReleases'>;
  /**
   * Called with a recipe whose published stream heads carry fixable CVEs, and its releases:
   * re-plan it (the planner's security-fix port makes the build `security` and names the CVEs).
   */
  onFixable: (recipe: LoadedRecipe, releases: Release[], fixable: CveSummary[]) => Promise<void>;
  /** Time between rounds. @default config.pollIntervalMs */
  intervalMs?: number;
  /** @default the system clock */
  clock?: WatchClock;
}

export interface VulnTrigger {
  start(): void;
  stop(): void;
  /** One round now (scan, then re-plan what is fixable); resolves with the scan. */
  runNow(): Promise<CatalogScan | undefined>;
}

/**
 * The watcher's CVE trigger, beside the upstream schedule and the suite trigger: every round it
 * scans the catalog's stream heads against KILN_VULN_FEED (src/vuln/catalog-scan.ts; the feed is
 * fetched with a conditional GET, so an unchanged one costs a 304) and re-plans each recipe with a
 * fixable CVE, even when the InRelease poll has not seen the suite change yet. Without
 * KILN_VULN_FEED it does nothing. Rounds never overlap; a failed one is logged and retried next.
 */
export function createVulnTrigger(options: VulnTriggerOptions): VulnTrigger {
  const { config, log } = options;
  const clock = options.clock ?? systemClock;
  const intervalMs = options.intervalMs ?? config.pollIntervalMs;
  let stopped = false;
  let cancel: (() => void) | undefined;
  let current: Promise<CatalogScan | undefined> | undefined;

  const replan = async (scan: CatalogScan, recipes: readonly LoadedRecipe[]): Promise<void> => {
    const byRecipe = new Map<string, CveSummary[]>();
    for (const s of scan.summaries)
      if (s.fixable > 0) byRecipe.set(s.recipe, [...(byRecipe.get(s.recipe) ?? []), s]);
    for (const [name, fixable] of byRecipe) {
      const loaded = recipes.find((r) => r.recipe.name === name);
      if (!loaded) continue;
      const cves = [...new Set(fixable.flatMap((s) => s.fixableCves.map((f) => f.cve)))];
      log.info({ recipe: name, cves }, 'fixable CVEs in a published image: re-planning');
      let releases = options.watcher.cachedReleases(name);
      if (!releases) {
        const outcome = await options.watcher.checkNow(name);
        if (!outcome.ok) continue;
        releases = outcome.releases;
      }
      await options.onFixable(loaded, releases, fixable);
    }
  };

  const round = async (): Promise<CatalogScan | undefined> => {
    if (!config.vulnFeed) return undefined;
    const recipes = await options.recipes();
    const scan = await scanCatalog({
      redis: options.redis,
      prefix: config.queuePrefix,
      config,
      recipes,
      log,
      now: new Date(clock.now()),
    });
    if (scan) {
      for (const f of scan.fixed)
        log.info({ ...f, seconds: Math.round(f.ms / 1000) }, 'CVE fix reached a tagged image');
      await replan(scan, recipes);
    }
    return scan;
  };

  const runNow = (): Promise<CatalogScan | undefined> => {
    current ??= round().finally(() => {
      current = undefined;
    });
    return current;
  };

  const schedule = (ms: number): void => {
    if (stopped) return;
    cancel = clock.after(ms, () => {
      void runNow()
        .catch((error: unknown) => {
          log.warn({ err: describeError(error) }, 'CVE scan failed; trying again next round');
        })
        .finally(() => schedule(intervalMs));
    });
  };

  return {
    start() {
      if (!config.vulnFeed) {
        log.info('no KILN_VULN_FEED: CVE-driven rebuilds and CVE counts are off');
        return;
      }
      stopped = false;
      schedule(Math.min(intervalMs, 60_000));
    },
    stop() {
      stopped = true;
      cancel?.();
    },
    runNow,
  };
}
