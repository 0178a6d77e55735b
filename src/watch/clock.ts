/**
 * Time as the watcher sees it: when a check is due, how long a source stays paused, and the tick
 * timer. A port so tests can move time by hand; the default is the system clock.
 */
export interface WatchClock {
  /** Epoch milliseconds. */
  now(): number;
  /** Calls `callback` once after `ms`; the returned function cancels it. */
  after(ms: number, callback: () => void): () => void;
}

export const systemClock: WatchClock = {
  now: () => Date.now(),
  after(ms, callback) {
    const timer = setTimeout(callback, ms);
    return () => clearTimeout(timer);
  },
};
