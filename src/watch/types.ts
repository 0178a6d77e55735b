import type { RedisClient } from '../queue/connection.ts';
import type { Config } from '../config.ts';
import type { Logger } from '../log.ts';
import type { LoadedRecipe } from '../recipe/index.ts';
import type {
  FetchResult,
  Release,
  SourceContext,
  SourceId,
  UpstreamSource,
} from '../upstream/types.ts';
import type { WatchClock } from './clock.ts';

/** What a check learnt, passed to `onReleases` beside the releases. */
export interface CheckInfo {
  /** Which of the recipe's upstreams was checked: its name, or `<name>#<stream>` (src/recipe/streams.ts). */
  key: string;
  source: SourceId;
  ref: string;
  /** The upstream answered "not modified" (the releases came from the validator cache). */
  unchanged: boolean;
  /** Entries the source refused (unsafe or unusable versions), for logs and lint. */
  rejected: FetchResult['rejected'];
  checkedAt: string;
}

export type CheckOutcome =
  | { ok: true; releases: Release[]; info: CheckInfo; changed: boolean }
  | { ok: false; error: Error };

export interface WatcherOptions {
  config: Config;
  /** Validators and last answers are kept here (under config.queuePrefix); none: in memory only. */
  redis?: RedisClient;
  /** The current recipes; called every tick, so added and removed recipes are picked up. */
  recipes: () => readonly LoadedRecipe[] | Promise<readonly LoadedRecipe[]>;
  /**
   * Called with a recipe's releases (newest first) when they differ from what this watcher last
   * passed on, including the first check after a start. Throwing makes the check count as failed.
   */
  onReleases: (recipe: LoadedRecipe, releases: Release[], info: CheckInfo) => void | Promise<void>;
  log?: Logger;
  /** Sources by id; default: every source in src/upstream. */
  sources?: ReadonlyMap<SourceId, UpstreamSource>;
  /** How often due checks are looked for, in ms. @default 1000 */
  tickMs?: number;
  /** How often ticks call `recipes()` again, in ms (checkNow and checkAll always do). @default 15000 */
  recipesRefreshMs?: number;
  /** Requests in flight per upstream host. @default 8 */
  hostConcurrency?: number;
  /** How long a due check of a batching source (GitHub) may wait for a fuller batch, in ms. @default min(30 s, interval / 10) */
  batchDelayMs?: number;
  /** Items a batching source prefers per dispatch. @default 100 */
  batchSize?: number;
  /** Largest upstream response accepted, in bytes. @default 64 MiB */
  maxBodyBytes?: number;
  /** Per-request timeout in ms. @default 30 s */
  timeoutMs?: number;
  sourceOptions?: SourceContext['sourceOptions'];
  /** A recipe's check interval; default config.pollIntervalMs for every recipe. */
  intervalOf?: (recipe: LoadedRecipe) => number;
  /** The watcher's time: due checks, pauses and the tick timer. @default the system clock */
  clock?: WatchClock;
}

/** What the watcher knows about one recipe, for `kiln status` and the API. */
export interface RecipeWatchState {
  recipe: string;
  source: SourceId;
  ref: string;
  nextDueAt: number;
  lastCheckedAt: number | undefined;
  lastError: string | undefined;
  failures: number;
  running: boolean;
  fingerprint: string | undefined;
}

export interface Watcher {
  start(): void;
  stop(): Promise<void>;
  /** Checks one recipe now (webhooks, `POST /hooks/check/:recipe`). */
  checkNow(recipeName: string): Promise<CheckOutcome>;
  /** Checks every recipe now, batching where the source can: one full cycle (`kiln plan`, bench). */
  checkAll(): Promise<Map<string, CheckOutcome>>;
  /** Names of the recipes that watch `ref` on `source` (case-insensitive). */
  recipesTracking(source: SourceId, ref: string): Promise<string[]>;
  /** Whether a recipe with a known upstream has this name. */
  hasRecipe(name: string): Promise<boolean>;
  /**
   * The releases the last successful check of a recipe gave (newest first), if this process has
   * checked it: what a reconcile plans with, so it sends no upstream request.
   */
  cachedReleases(recipeName: string): Release[] | undefined;
  /** Epoch ms until which a rate-limited source is paused, if it is. */
  pausedUntil(source: SourceId): number | undefined;
  status(): RecipeWatchState[];
  /** Per-source counters (GitHub points spent, batch size, …). */
  stats(): Partial<Record<SourceId, Record<string, number | undefined>>>;
}

/** Another trigger that runs beside the poll schedule (suite polling, reconcile), started and stopped with the watcher. */
export interface WatchTrigger {
  start(): void;
  stop(): void | Promise<void>;
}
