import { createHash } from 'node:crypto';
import pLimit, { type LimitFunction } from 'p-limit';
import {
  recordRateLimit,
  recordUpstreamCheck,
  type CheckOutcome as SignalOutcome,
} from '../catalog/signals.ts';
import { describeError, PermanentError, TransientError } from '../errors.ts';
import { log as defaultLog, registerSecret, type Logger } from '../log.ts';
import type { LoadedRecipe } from '../recipe/index.ts';
import { watchedUpstreams } from '../recipe/streams.ts';
import { memoryValidatorCache, redisValidatorCache } from '../upstream/cache.ts';
import { RateLimitedError } from '../upstream/errors.ts';
import { sourceFor, upstreamSources } from '../upstream/index.ts';
import type {
  FetchResult,
  Release,
  SourceClient,
  SourceContext,
  SourceId,
  UpstreamSource,
  WatchItem,
} from '../upstream/types.ts';
import type {
  CheckInfo,
  CheckOutcome,
  RecipeWatchState,
  Watcher,
  WatcherOptions,
  WatchTrigger,
} from './types.ts';
import { systemClock, type WatchClock } from './clock.ts';
import { backoff, firstCheckDelay, jittered } from './schedule.ts';
import { schemeOf } from '../versioning/scheme.ts';

/** One recipe the watcher checks: its recipe, its source and what it watches there. */
interface Entry {
  loaded: LoadedRecipe;
  source: UpstreamSource;
  item: WatchItem;
}

/**
 * The polling scheduler (see src/watch/README.md for how checks are spread, batched and paused).
 * It owns every piece of watch state for its lifetime, between `start()` and `stop()`:
 *
 * - `entries`: the recipes with a known upstream, from the last `refresh()` (`recipes()`), by name.
 * - `states`: what is known of each recipe's checks. Always exactly the names in `entries`; a
 *   recipe whose source or reference changed starts again (first-check delay, no fingerprint).
 * - `lastReleases`: the releases each recipe's last successful check gave, newest first: what a
 *   reconcile plans with. Only recipes in `entries`, and forgotten when their upstream changes.
 * - `clients`: one open client per source, made on first use and kept (budgets, batch sizes).
 * - `hostLimits`: one concurrency limit per upstream host (`hostConcurrency`), for sources that
 *   do not batch.
 * - `paused`: per source, the epoch ms until which a rate-limited source sends nothing; an entry
 *   in the past is removed the next time it is read.
 * - `inflight`: the checks running now; `stop()` waits for them. A recipe whose check is in
 *   flight has `state.running` set, and a tick never starts a second check of it.
 * - `ticking`: a tick is running; ticks never overlap. `running`: between start() and stop();
 *   only then is the next tick scheduled (`cancelTimer` cancels it).
 * - `triggers`: other triggers (suite polling, reconcile) started and stopped with the watcher.
 */
export class UpstreamWatcher implements Watcher {
  private readonly log: Logger;
  private readonly sources: ReadonlyMap<SourceId, UpstreamSource>;
  private readonly ctx: SourceContext;
  private readonly clock: WatchClock;
  private readonly intervalOf: (recipe: LoadedRecipe) => number;
  private readonly batchDelayMs: number;
  private readonly clients = new Map<SourceId, SourceClient>();
  private readonly hostLimits = new Map<string, LimitFunction>();
  private readonly states = new Map<string, RecipeWatchState>();
  private readonly lastReleases = new Map<string, Release[]>();
  private readonly paused = new Map<SourceId, number>();
  private readonly inflight = new Set<Promise<unknown>>();
  private readonly triggers: WatchTrigger[] = [];
  private entries = new Map<string, Entry>();
  private cancelTimer: (() => void) | undefined;
  private running = false;
  private ticking = false;
  private refreshedAt = 0;

  constructor(private readonly options: WatcherOptions) {
    const { config } = options;
    registerSecret(config.githubToken);
    registerSecret(config.githubWebhookSecret);
    this.log = (options.log ?? defaultLog).child({ part: 'watch' });
    this.sources = options.sources ?? upstreamSources;
    this.ctx = {
      config,
      log: this.log,
      cache: options.redis
        ? redisValidatorCache(options.redis, config.queuePrefix)
        : memoryValidatorCache(),
      maxBodyBytes: options.maxBodyBytes ?? 64 * 1024 * 1024,
      timeoutMs: options.timeoutMs ?? 30_000,
      sourceOptions: options.sourceOptions,
    };
    this.intervalOf = options.intervalOf ?? (() => config.pollIntervalMs);
    this.batchDelayMs = options.batchDelayMs ?? Math.min(30_000, config.pollIntervalMs / 10);
    this.clock = options.clock ?? systemClock;
  }

  /** Adds a trigger that starts and stops with this watcher (suite polling, reconcile). */
  attach(trigger: WatchTrigger): void {
    this.triggers.push(trigger);
    if (this.running) trigger.start();
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.log.info({ intervalMs: this.options.config.pollIntervalMs }, 'watcher started');
    void this.tick().finally(() => this.schedule());
    for (const trigger of this.triggers) trigger.start();
  }

  async stop(): Promise<void> {
    for (const trigger of this.triggers) await trigger.stop();
    this.running = false;
    this.cancelTimer?.();
    await Promise.allSettled([...this.inflight]);
  }

  async checkNow(name: string): Promise<CheckOutcome> {
    const entry = (await this.refresh()).get(name);
    if (!entry)
      return {
        ok: false,
        error: new PermanentError(`no recipe named ${name} with a known upstream`),
      };
    const out = await this.track(this.check([entry]));
    return (
      out.get(name) ?? { ok: false, error: new TransientError(`check of ${name} gave no outcome`) }
    );
  }

  async checkAll(): Promise<Map<string, CheckOutcome>> {
    return this.track(this.check([...(await this.refresh()).values()]));
  }

  async recipesTracking(source: SourceId, ref: string): Promise<string[]> {
    const wanted = ref.toLowerCase();
    return [...(await this.refresh()).values()]
      .filter((e) => e.source.id === source && e.item.ref.toLowerCase() === wanted)
      .map((e) => e.item.recipe);
  }

  async hasRecipe(name: string): Promise<boolean> {
    return (await this.refresh()).has(name);
  }

  pausedUntil(source: SourceId): number | undefined {
    return this.pauseOf(source);
  }

  cachedReleases(name: string): Release[] | undefined {
    return this.lastReleases.get(name);
  }

  status(): RecipeWatchState[] {
    return [...this.states.values()].map((s) => ({ ...s }));
  }

  stats(): Partial<Record<SourceId, Record<string, number | undefined>>> {
    return Object.fromEntries([...this.clients].map(([id, c]) => [id, c.stats?.() ?? {}]));
  }

  private schedule(): void {
    if (!this.running) return;
    this.cancelTimer = this.clock.after(this.options.tickMs ?? 1000, () => {
      void this.tick().finally(() => this.schedule());
    });
  }

  /** One look for due checks; dispatches them per source and returns without waiting for them. */
  private async tick(): Promise<void> {
    if (this.ticking) return;
    this.ticking = true;
    try {
      // Loading recipes may read thousands of files: ticks reuse the list for recipesRefreshMs.
      if (this.clock.now() - this.refreshedAt >= (this.options.recipesRefreshMs ?? 15_000))
        await this.refresh();
      const now = this.clock.now();
      for (const [id, list] of this.dueBySource(now)) {
        if (this.waitsForFullerBatch(id, list, now)) continue;
        void this.track(this.check(list));
      }
    } catch (error) {
      this.log.error({ error: describeError(error) }, 'watch tick failed');
    } finally {
      this.ticking = false;
    }
  }

  /** The entries due now, by source: not running, due, and their source not paused. */
  private dueBySource(now: number): Map<SourceId, Entry[]> {
    const due = new Map<SourceId, Entry[]>();
    for (const entry of this.entries.values()) {
      const state = this.states.get(entry.item.recipe);
      if (!state || state.running || state.nextDueAt > now || this.pauseOf(entry.source.id, now))
        continue;
      groupInto(due, entry.source.id, entry);
    }
    return due;
  }

  /** A batching source (GitHub) waits for a fuller batch unless its oldest due check waited enough. */
  private waitsForFullerBatch(id: SourceId, list: Entry[], now: number): boolean {
    const source = this.sources.get(id);
    if (!source || !this.clientOf(source).fetchMany) return false;
    const oldest = Math.min(...list.map((e) => this.states.get(e.item.recipe)?.nextDueAt ?? now));
    return list.length < (this.options.batchSize ?? 100) && now - oldest < this.batchDelayMs;
  }

  /** Reads the recipes again; keeps `entries`, `states` and `lastReleases` in step with them. */
  private async refresh(): Promise<Map<string, Entry>> {
    this.refreshedAt = this.clock.now();
    const list = await this.options.recipes();
    const next = new Map<string, Entry>();
    const now = this.clock.now();
    // One entry per upstream a recipe watches: its name, and `<name>#<stream>` for a stream
    // that tracks an upstream of its own (src/recipe/streams.ts).
    for (const loaded of list) {
      for (const { key: name, upstream } of watchedUpstreams(loaded.recipe)) {
        const found = sourceFor(upstream, this.sources);
        if (!found) continue;
        next.set(name, {
          loaded,
          source: found.source,
          item: { recipe: name, ref: found.ref, upstream },
        });
        const state = this.states.get(name);
        if (!state || state.ref !== found.ref || state.source !== found.source.id) {
          this.lastReleases.delete(name);
          const firstAt = now + firstCheckDelay(name, list.length, this.intervalOf(loaded));
          this.states.set(name, freshState(name, found.source.id, found.ref, firstAt));
        }
      }
    }
    for (const name of this.states.keys()) if (!next.has(name)) this.states.delete(name);
    for (const name of this.lastReleases.keys())
      if (!next.has(name)) this.lastReleases.delete(name);
    this.entries = next;
    return next;
  }

  /** Checks entries now: batching sources in one call each, others per item under host limits. */
  private async check(list: Entry[]): Promise<Map<string, CheckOutcome>> {
    const out = new Map<string, CheckOutcome>();
    const bySource = new Map<SourceId, Entry[]>();
    for (const e of list) groupInto(bySource, e.source.id, e);
    for (const e of list) this.setRunning(e, true);
    const done = async (e: Entry, outcome: FetchResult | Error): Promise<void> => {
      out.set(e.item.recipe, await this.settle(e, outcome));
      this.setRunning(e, false);
    };
    await Promise.all([...bySource.values()].map((group) => this.checkGroup(group, done)));
    return out;
  }

  /** One source's entries: one `fetchMany` when it batches, else one fetch each. */
  private async checkGroup(group: Entry[], done: Settle): Promise<void> {
    const source = group[0]?.source;
    if (!source) return;
    let client: SourceClient;
    try {
      client = this.clientOf(source);
    } catch (error) {
      await Promise.all(group.map((e) => done(e, asError(error))));
      return;
    }
    if (client.fetchMany) {
      const results = await client
        .fetchMany(group.map((e) => e.item))
        .catch((error: unknown) => group.map(() => asError(error)));
      this.signalRateLimit(source.id, client);
      await Promise.all(
        group.map((e, i) => done(e, results[i] ?? new TransientError('no result'))),
      );
      return;
    }
    await Promise.all(group.map(async (e) => done(e, await this.fetchOne(source, client, e))));
    this.signalRateLimit(source.id, client);
  }

  /** One fetch under its host's limit; a source paused meanwhile fails it as rate-limited. */
  private async fetchOne(
    source: UpstreamSource,
    client: SourceClient,
    e: Entry,
  ): Promise<FetchResult | Error> {
    try {
      const host = await client.hostOf(e.item);
      let limit = this.hostLimits.get(host);
      if (!limit) this.hostLimits.set(host, (limit = pLimit(this.options.hostConcurrency ?? 8)));
      return await limit(() => {
        const until = this.pauseOf(source.id);
        if (until)
          throw new RateLimitedError(
            `${source.id} is paused until ${new Date(until).toISOString()}`,
            until,
          );
        return client.fetch(e.item);
      });
    } catch (error) {
      return asError(error);
    }
  }

  /** Records a check's outcome in the recipe's state, and hands changed releases on. */
  private async settle(entry: Entry, outcome: FetchResult | Error): Promise<CheckOutcome> {
    if (outcome instanceof Error) return this.settleFailure(entry, outcome);
    const now = this.clock.now();
    const info: CheckInfo = {
      key: entry.item.recipe,
      source: entry.source.id,
      ref: entry.item.ref,
      unchanged: outcome.unchanged,
      rejected: outcome.rejected,
      checkedAt: new Date(now).toISOString(),
    };
    this.signal(entry.source.id, outcome.unchanged ? 'not-modified' : 'ok');
    const state = this.states.get(entry.item.recipe);
    const fingerprint = fingerprintOf(outcome.releases);
    const changed = fingerprint !== state?.fingerprint;
    if (changed) {
      const failed = await this.handOn(entry, outcome, info, now);
      if (failed) return failed;
    }
    this.lastReleases.set(entry.item.recipe, outcome.releases);
    if (state) {
      state.fingerprint = fingerprint;
      state.failures = 0;
      state.lastError = undefined;
      state.lastCheckedAt = now;
      state.nextDueAt = now + jittered(this.intervalOf(entry.loaded));
    }
    return { ok: true, releases: outcome.releases, info, changed };
  }

  /** Calls `onReleases`; a throw makes the check a transient failure, retried after a backoff. */
  private async handOn(
    entry: Entry,
    outcome: FetchResult,
    info: CheckInfo,
    now: number,
  ): Promise<CheckOutcome | undefined> {
    const fields = { recipe: entry.item.recipe, source: entry.source.id, ref: entry.item.ref };
    try {
      await this.options.onReleases(entry.loaded, outcome.releases, info);
    } catch (cause) {
      const error = new TransientError(`passing releases of ${entry.item.recipe} on`, { cause });
      const state = this.states.get(entry.item.recipe);
      if (state) {
        state.failures++;
        state.lastError = describeError(error);
        state.nextDueAt = now + backoff(state.failures, this.intervalOf(entry.loaded));
      }
      this.log.warn({ ...fields, error: describeError(error) }, 'onReleases failed');
      return { ok: false, error };
    }
    this.log.info(
      {
        ...fields,
        releases: outcome.releases.length,
        newest: newestTag(entry.loaded, outcome.releases),
        rejected: outcome.rejected.length,
      },
      'upstream releases',
    );
    return undefined;
  }

  /** A failed check: rate limits pause the source, transient errors back off, others wait an interval. */
  private settleFailure(entry: Entry, error: Error): CheckOutcome {
    const rateLimited = error instanceof RateLimitedError;
    this.signal(entry.source.id, rateLimited ? 'rate-limited' : 'error');
    if (rateLimited) this.pause(entry.source.id, error.resetAt);
    const state = this.states.get(entry.item.recipe);
    if (state) {
      const now = this.clock.now();
      state.failures++;
      state.lastError = describeError(error);
      state.nextDueAt = rateLimited
        ? error.resetAt + jittered(1000, 1)
        : error instanceof TransientError
          ? now + backoff(state.failures, this.intervalOf(entry.loaded), error.retryAfterMs)
          : now + jittered(this.intervalOf(entry.loaded));
    }
    const level = error instanceof PermanentError ? 'warn' : 'info';
    this.log[level](
      {
        recipe: entry.item.recipe,
        source: entry.source.id,
        ref: entry.item.ref,
        error: describeError(error),
        failures: state?.failures,
      },
      'upstream check failed',
    );
    return { ok: false, error };
  }

  /** Pauses a source until `resetAt` (or a later pause already set), logging when it starts. */
  private pause(source: SourceId, resetAt: number): void {
    const current = this.pauseOf(source);
    const until = Math.max(resetAt, current ?? 0);
    if (current === undefined)
      this.log.warn(
        { source, until: new Date(until).toISOString() },
        'source rate-limited; pausing its checks',
      );
    this.paused.set(source, until);
  }

  private pauseOf(source: SourceId, now = this.clock.now()): number | undefined {
    const until = this.paused.get(source);
    if (until !== undefined && until <= now) this.paused.delete(source);
    return until !== undefined && until > now ? until : undefined;
  }

  private clientOf(source: UpstreamSource): SourceClient {
    let client = this.clients.get(source.id);
    if (!client) {
      client = source.open(this.ctx);
      this.clients.set(source.id, client);
    }
    return client;
  }

  private setRunning(e: Entry, running: boolean): void {
    const state = this.states.get(e.item.recipe);
    if (state) state.running = running;
  }

  private track<T>(promise: Promise<T>): Promise<T> {
    this.inflight.add(promise);
    void promise.finally(() => this.inflight.delete(promise)).catch(() => undefined);
    return promise;
  }

  /** Operational signals for /metrics and `kiln status` (src/catalog/signals.ts); best effort. */
  private signal(source: SourceId, outcome: SignalOutcome): void {
    const { redis, config } = this.options;
    if (!redis) return;
    recordUpstreamCheck(redis, config.queuePrefix, source, outcome).catch((error: unknown) =>
      this.log.debug({ error: describeError(error) }, 'recording an upstream check failed'),
    );
  }

  private signalRateLimit(source: SourceId, client: SourceClient): void {
    const state = client.rateLimit?.();
    const { redis, config } = this.options;
    if (!redis || !state) return;
    recordRateLimit(redis, config.queuePrefix, source, {
      remaining: state.remaining,
      ...(state.limit !== undefined ? { limit: state.limit } : {}),
      ...(state.resetAt ? { resetAt: new Date(state.resetAt).toISOString() } : {}),
    }).catch((error: unknown) =>
      this.log.debug({ error: describeError(error) }, 'recording a rate limit failed'),
    );
  }
}

type Settle = (e: Entry, outcome: FetchResult | Error) => Promise<void>;

/** The watcher over `options`; see UpstreamWatcher. */
export function createWatcher(options: WatcherOptions): UpstreamWatcher {
  return new UpstreamWatcher(options);
}

function freshState(
  recipe: string,
  source: SourceId,
  ref: string,
  nextDueAt: number,
): RecipeWatchState {
  return {
    recipe,
    source,
    ref,
    nextDueAt,
    lastCheckedAt: undefined,
    lastError: undefined,
    failures: 0,
    running: false,
    fingerprint: undefined,
  };
}

function fingerprintOf(releases: Release[]): string {
  const h = createHash('sha256');
  for (const r of releases)
    h.update(`${r.tag}\0${r.version}\0${r.publishedAt ?? ''}\0${r.prerelease}\n`);
  return h.digest('hex');
}

function groupInto<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new TransientError(String(error));
}

/** The tag of the highest release in the recipe's version order (for the log; the planner decides). */
function newestTag(loaded: LoadedRecipe, releases: readonly Release[]): string | undefined {
  const scheme = schemeOf(loaded.recipe.versions.scheme);
  let best: { tag: string; version: string } | undefined;
  for (const r of releases) {
    const version = scheme.normalize(r.version);
    if (version === undefined) continue;
    if (!best || scheme.compare(version, best.version) > 0) best = { tag: r.tag, version };
  }
  return best?.tag;
}
