import { createHash } from 'node:crypto';
import pLimit, { type LimitFunction } from 'p-limit';
import {
  recordRateLimit,
  recordUpstreamCheck,
  type CheckOutcome as SignalOutcome,
} from '../catalog/signals.ts';
import { describeError, PermanentError, TransientError } from '../errors.ts';
import { log as defaultLog, registerSecret } from '../log.ts';
import type { LoadedRecipe } from '../recipe/index.ts';
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
} from './types.ts';
import { systemClock } from './clock.ts';
import { backoff, firstCheckDelay, jittered } from './schedule.ts';

interface Entry {
  loaded: LoadedRecipe;
  source: UpstreamSource;
  item: WatchItem;
}

/** The polling scheduler: see src/watch/README.md for how checks are spread, batched and paused. */
export function createWatcher(options: WatcherOptions): Watcher {
  const { config } = options;
  registerSecret(config.githubToken);
  registerSecret(config.githubWebhookSecret);
  const log = (options.log ?? defaultLog).child({ part: 'watch' });
  const sources = options.sources ?? upstreamSources;
  const ctx: SourceContext = {
    config,
    log,
    cache: options.redis
      ? redisValidatorCache(options.redis, config.queuePrefix)
      : memoryValidatorCache(),
    maxBodyBytes: options.maxBodyBytes ?? 64 * 1024 * 1024,
    timeoutMs: options.timeoutMs ?? 30_000,
    sourceOptions: options.sourceOptions,
  };
  const intervalOf = options.intervalOf ?? (() => config.pollIntervalMs);
  const batchDelayMs = options.batchDelayMs ?? Math.min(30_000, config.pollIntervalMs / 10);
  const clock = options.clock ?? systemClock;
  const clients = new Map<SourceId, SourceClient>();
  const hostLimits = new Map<string, LimitFunction>();
  const states = new Map<string, RecipeWatchState>();
  // The last releases each recipe's upstream gave: what a reconcile plans with, at no request.
  const lastReleases = new Map<string, Release[]>();
  const paused = new Map<SourceId, number>();
  const inflight = new Set<Promise<unknown>>();
  let entries = new Map<string, Entry>();
  let cancelTimer: (() => void) | undefined;
  let running = false;
  let ticking = false;
  let refreshedAt = 0;

  const clientOf = (source: UpstreamSource): SourceClient => {
    let client = clients.get(source.id);
    if (!client) {
      client = source.open(ctx);
      clients.set(source.id, client);
    }
    return client;
  };

  async function refresh(): Promise<Map<string, Entry>> {
    refreshedAt = clock.now();
    const list = await options.recipes();
    const next = new Map<string, Entry>();
    const now = clock.now();
    for (const loaded of list) {
      const found = sourceFor(loaded.recipe.upstream, sources);
      if (!found) continue;
      const name = loaded.recipe.name;
      next.set(name, {
        loaded,
        source: found.source,
        item: { recipe: name, ref: found.ref, upstream: loaded.recipe.upstream },
      });
      const state = states.get(name);
      if (!state || state.ref !== found.ref || state.source !== found.source.id) {
        lastReleases.delete(name);
        states.set(name, {
          recipe: name,
          source: found.source.id,
          ref: found.ref,
          nextDueAt: now + firstCheckDelay(name, list.length, intervalOf(loaded)),
          lastCheckedAt: undefined,
          lastError: undefined,
          failures: 0,
          running: false,
          fingerprint: undefined,
        });
      }
    }
    for (const name of states.keys()) if (!next.has(name)) states.delete(name);
    for (const name of lastReleases.keys()) if (!next.has(name)) lastReleases.delete(name);
    entries = next;
    return next;
  }

  function pauseOf(source: SourceId, now = clock.now()): number | undefined {
    const until = paused.get(source);
    if (until !== undefined && until <= now) paused.delete(source);
    return until !== undefined && until > now ? until : undefined;
  }

  /** Operational signals for /metrics and `kiln status` (src/catalog/signals.ts); best effort. */
  function signal(source: SourceId, outcome: SignalOutcome): void {
    if (!options.redis) return;
    recordUpstreamCheck(options.redis, config.queuePrefix, source, outcome).catch(
      (error: unknown) =>
        log.debug({ error: describeError(error) }, 'recording an upstream check failed'),
    );
  }

  function signalRateLimit(source: SourceId, client: SourceClient): void {
    const state = client.rateLimit?.();
    if (!options.redis || !state) return;
    recordRateLimit(options.redis, config.queuePrefix, source, {
      remaining: state.remaining,
      ...(state.limit !== undefined ? { limit: state.limit } : {}),
      ...(state.resetAt ? { resetAt: new Date(state.resetAt).toISOString() } : {}),
    }).catch((error: unknown) =>
      log.debug({ error: describeError(error) }, 'recording a rate limit failed'),
    );
  }

  async function settle(entry: Entry, outcome: FetchResult | Error): Promise<CheckOutcome> {
    const state = states.get(entry.item.recipe);
    const now = clock.now();
    const interval = intervalOf(entry.loaded);
    const fields = { recipe: entry.item.recipe, source: entry.source.id, ref: entry.item.ref };
    if (outcome instanceof Error) {
      signal(entry.source.id, outcome instanceof RateLimitedError ? 'rate-limited' : 'error');
      if (outcome instanceof RateLimitedError) {
        const until = Math.max(outcome.resetAt, pauseOf(entry.source.id) ?? 0);
        if (pauseOf(entry.source.id) === undefined)
          log.warn(
            { source: entry.source.id, until: new Date(until).toISOString() },
            'source rate-limited; pausing its checks',
          );
        paused.set(entry.source.id, until);
      }
      if (state) {
        state.failures++;
        state.lastError = describeError(outcome);
        state.nextDueAt =
          outcome instanceof RateLimitedError
            ? outcome.resetAt + jittered(1000, 1)
            : outcome instanceof TransientError
              ? now + backoff(state.failures, interval, outcome.retryAfterMs)
              : now + jittered(interval);
      }
      const level = outcome instanceof PermanentError ? 'warn' : 'info';
      log[level](
        { ...fields, error: describeError(outcome), failures: state?.failures },
        'upstream check failed',
      );
      return { ok: false, error: outcome };
    }
    const info: CheckInfo = {
      source: entry.source.id,
      ref: entry.item.ref,
      unchanged: outcome.unchanged,
      rejected: outcome.rejected,
      checkedAt: new Date(now).toISOString(),
    };
    signal(entry.source.id, outcome.unchanged ? 'not-modified' : 'ok');
    const fingerprint = fingerprintOf(outcome.releases);
    const changed = fingerprint !== state?.fingerprint;
    if (changed) {
      try {
        await options.onReleases(entry.loaded, outcome.releases, info);
      } catch (cause) {
        const error = new TransientError(`passing releases of ${entry.item.recipe} on`, { cause });
        if (state) {
          state.failures++;
          state.lastError = describeError(error);
          state.nextDueAt = now + backoff(state.failures, interval);
        }
        log.warn({ ...fields, error: describeError(error) }, 'onReleases failed');
        return { ok: false, error };
      }
      log.info(
        {
          ...fields,
          releases: outcome.releases.length,
          newest: outcome.releases[0]?.tag,
          rejected: outcome.rejected.length,
        },
        'upstream releases',
      );
    }
    lastReleases.set(entry.item.recipe, outcome.releases);
    if (state) {
      state.fingerprint = fingerprint;
      state.failures = 0;
      state.lastError = undefined;
      state.lastCheckedAt = now;
      state.nextDueAt = now + jittered(interval);
    }
    return { ok: true, releases: outcome.releases, info, changed };
  }

  /** Checks entries now: batching sources in one call each, others per item under host limits. */
  async function check(list: Entry[]): Promise<Map<string, CheckOutcome>> {
    const out = new Map<string, CheckOutcome>();
    const bySource = new Map<SourceId, Entry[]>();
    for (const e of list) groupInto(bySource, e.source.id, e);
    for (const e of list) {
      const state = states.get(e.item.recipe);
      if (state) state.running = true;
    }
    const done = async (e: Entry, outcome: FetchResult | Error) => {
      out.set(e.item.recipe, await settle(e, outcome));
      const state = states.get(e.item.recipe);
      if (state) state.running = false;
    };
    await Promise.all(
      [...bySource.values()].map(async (group) => {
        const source = group[0]?.source;
        if (!source) return;
        let client: SourceClient;
        try {
          client = clientOf(source);
        } catch (error) {
          await Promise.all(group.map((e) => done(e, asError(error))));
          return;
        }
        if (client.fetchMany) {
          const results = await client
            .fetchMany(group.map((e) => e.item))
            .catch((error: unknown) => group.map(() => asError(error)));
          signalRateLimit(source.id, client);
          await Promise.all(
            group.map((e, i) => done(e, results[i] ?? new TransientError('no result'))),
          );
          return;
        }
        await Promise.all(
          group.map(async (e) => {
            let outcome: FetchResult | Error;
            try {
              const host = await client.hostOf(e.item);
              let limit = hostLimits.get(host);
              if (!limit) hostLimits.set(host, (limit = pLimit(options.hostConcurrency ?? 8)));
              outcome = await limit(() => {
                const until = pauseOf(source.id);
                if (until)
                  throw new RateLimitedError(
                    `${source.id} is paused until ${new Date(until).toISOString()}`,
                    until,
                  );
                return client.fetch(e.item);
              });
            } catch (error) {
              outcome = asError(error);
            }
            await done(e, outcome);
          }),
        );
        signalRateLimit(source.id, client);
      }),
    );
    return out;
  }

  function track<T>(promise: Promise<T>): Promise<T> {
    inflight.add(promise);
    void promise.finally(() => inflight.delete(promise)).catch(() => undefined);
    return promise;
  }

  async function tick(): Promise<void> {
    if (ticking) return;
    ticking = true;
    try {
      // Loading recipes may read thousands of files: ticks reuse the list for recipesRefreshMs.
      if (clock.now() - refreshedAt >= (options.recipesRefreshMs ?? 15_000)) await refresh();
      const now = clock.now();
      const due = new Map<SourceId, Entry[]>();
      for (const entry of entries.values()) {
        const state = states.get(entry.item.recipe);
        if (!state || state.running || state.nextDueAt > now || pauseOf(entry.source.id, now))
          continue;
        groupInto(due, entry.source.id, entry);
      }
      for (const [id, list] of due) {
        const source = sources.get(id);
        const batching = source ? Boolean(clientOf(source).fetchMany) : false;
        if (batching) {
          // Wait for a fuller batch unless the oldest due check has waited long enough.
          const oldest = Math.min(...list.map((e) => states.get(e.item.recipe)?.nextDueAt ?? now));
          if (list.length < (options.batchSize ?? 100) && now - oldest < batchDelayMs) continue;
        }
        void track(check(list));
      }
    } catch (error) {
      log.error({ error: describeError(error) }, 'watch tick failed');
    } finally {
      ticking = false;
    }
  }

  const schedule = () => {
    if (!running) return;
    cancelTimer = clock.after(options.tickMs ?? 1000, () => void tick().finally(schedule));
  };

  return {
    start() {
      if (running) return;
      running = true;
      log.info({ intervalMs: config.pollIntervalMs }, 'watcher started');
      void tick().finally(schedule);
    },
    async stop() {
      running = false;
      cancelTimer?.();
      await Promise.allSettled([...inflight]);
    },
    async checkNow(name) {
      const entry = (await refresh()).get(name);
      if (!entry)
        return {
          ok: false,
          error: new PermanentError(`no recipe named ${name} with a known upstream`),
        };
      const out = await track(check([entry]));
      return (
        out.get(name) ?? {
          ok: false,
          error: new TransientError(`check of ${name} gave no outcome`),
        }
      );
    },
    async checkAll() {
      return track(check([...(await refresh()).values()]));
    },
    async recipesTracking(source, ref) {
      const wanted = ref.toLowerCase();
      return [...(await refresh()).values()]
        .filter((e) => e.source.id === source && e.item.ref.toLowerCase() === wanted)
        .map((e) => e.item.recipe);
    },
    hasRecipe: async (name) => (await refresh()).has(name),
    pausedUntil: (source) => pauseOf(source),
    cachedReleases: (name) => lastReleases.get(name),
    status: () => [...states.values()].map((s) => ({ ...s })),
    stats: () => Object.fromEntries([...clients].map(([id, c]) => [id, c.stats?.() ?? {}])),
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
