import { describe, expect, it } from 'vitest';
import { handClock } from '../../test/reconcile/hand-clock.ts';
import { createLogger } from '../log.ts';
import { createReconcileTrigger } from './reconcile.ts';

const log = createLogger({ level: 'silent' });

describe('the reconcile trigger', () => {
  it('runs at start-up, then one interval after each cycle ended, never two at once, and after a failure', async () => {
    const clock = handClock(0);
    const runs: number[] = [];
    let finish: () => void = () => {};
    let fail = false;
    const trigger = createReconcileTrigger({
      intervalMs: 60_000,
      clock,
      log,
      run: async () => {
        runs.push(clock.now());
        await new Promise<void>((resolve) => (finish = resolve));
        if (fail) throw new Error('registry down');
      },
    });
    trigger.start();
    expect(runs).toEqual([0]);
    // A cycle in flight: asking again joins it; the clock moving does not start another.
    const joined = trigger.runNow();
    clock.advance(120_000);
    expect(runs).toEqual([0]);
    finish();
    await joined;
    // The next cycle is one interval after the end of the last one.
    clock.advance(59_999);
    expect(runs).toEqual([0]);
    clock.advance(1);
    expect(runs).toEqual([0, 180_000]);
    fail = true;
    finish();
    await trigger.runNow();
    clock.advance(60_000);
    expect(runs).toEqual([0, 180_000, 240_000]);
    fail = false;
    finish();
    await trigger.stop();
    clock.advance(600_000);
    expect(runs).toHaveLength(3);
  });
});
