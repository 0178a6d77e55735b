import { describeError } from '../errors.ts';
import type { Logger } from '../log.ts';
import { systemClock, type WatchClock } from './clock.ts';

/*
 * The reconcile trigger: one full cycle at start-up, then one every interval after the previous
 * one ended, whether or not an upstream changed. What a cycle does is the caller's (src/run/
 * reconcile.ts plans every recipe against the registry); this only decides when, never runs two
 * at once, and keeps going after a cycle that failed.
 */

export interface ReconcileTriggerOptions {
  /** KILN_RECONCILE_INTERVAL, in ms. */
  intervalMs: number;
  /** One cycle; a throw is logged and the next cycle runs on time. */
  run: () => Promise<void>;
  log: Logger;
  /** @default the system clock */
  clock?: WatchClock;
}

export interface ReconcileTrigger {
  /** Runs a cycle now, then one every interval. */
  start(): void;
  /** Runs a cycle now, or joins the one in flight; resolves when it ends (never rejects). */
  runNow(): Promise<void>;
  /** Stops the timer and waits for a cycle in flight. */
  stop(): Promise<void>;
}

export function createReconcileTrigger(options: ReconcileTriggerOptions): ReconcileTrigger {
  const clock = options.clock ?? systemClock;
  let running = false;
  let inflight: Promise<void> | undefined;
  let cancel: (() => void) | undefined;

  const schedule = () => {
    cancel?.();
    if (running) cancel = clock.after(options.intervalMs, () => void cycle());
  };

  function cycle(): Promise<void> {
    inflight ??= (async () => {
      try {
        await options.run();
      } catch (error) {
        options.log.error(
          { err: describeError(error) },
          'reconcile failed; trying again next interval',
        );
      } finally {
        inflight = undefined;
        schedule();
      }
    })();
    return inflight;
  }

  return {
    start() {
      if (running) return;
      running = true;
      options.log.info(
        { intervalMs: options.intervalMs },
        'reconciling at start-up and every interval',
      );
      void cycle();
    },
    runNow: cycle,
    async stop() {
      running = false;
      cancel?.();
      await inflight;
    },
  };
}
