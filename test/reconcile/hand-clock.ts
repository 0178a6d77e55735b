import type { WatchClock } from '../../src/watch/clock.ts';

export type HandClock = WatchClock & { advance(ms: number): void };

/** A clock whose timers fire only when the test moves it. */
export function handClock(start: number): HandClock {
  let now = start;
  const timers = new Set<{ at: number; callback: () => void }>();
  return {
    now: () => now,
    after(ms, callback) {
      const timer = { at: now + ms, callback };
      timers.add(timer);
      return () => timers.delete(timer);
    },
    advance(ms) {
      now += ms;
      for (const t of [...timers].sort((a, b) => a.at - b.at)) {
        if (t.at > now) continue;
        timers.delete(t);
        t.callback();
      }
    },
  };
}
