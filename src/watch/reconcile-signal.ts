import { z } from 'zod';
import { TransientError } from '../errors.ts';
import type { RedisClient } from '../queue/connection.ts';
import { redisKeys } from '../queue/keys.ts';

/*
 * When the last reconcile cycle ended, for /metrics (`kiln_reconcile_last_run_timestamp_seconds`)
 * and an alert when reconciling has stopped. In Redis, so `kiln serve` reports the watcher that
 * runs elsewhere. A Redis loss loses it too, which reads as "not run" until the next cycle.
 *
 * Key, for prefix P:  P:signals:reconcile   hash: finishedAt (epoch ms), recipes, enqueued
 */

const reconcileKey = (prefix: string) => redisKeys(prefix).signals.reconcile;

const stored = z.object({
  finishedAt: z.coerce.number().int().nonnegative(),
  recipes: z.coerce.number().int().nonnegative(),
  enqueued: z.coerce.number().int().nonnegative(),
});
export type ReconcileSignal = z.infer<typeof stored>;

export async function recordReconcile(
  redis: RedisClient,
  prefix: string,
  signal: ReconcileSignal,
): Promise<void> {
  try {
    await redis.hset(reconcileKey(prefix), {
      finishedAt: String(signal.finishedAt),
      recipes: String(signal.recipes),
      enqueued: String(signal.enqueued),
    });
  } catch (cause) {
    throw new TransientError('recording the end of a reconcile cycle', { cause });
  }
}

/** The last reconcile cycle that ended, or undefined when none has (since Redis began). */
export async function lastReconcile(
  redis: RedisClient,
  prefix: string,
): Promise<ReconcileSignal | undefined> {
  const parsed = stored.safeParse(await redis.hgetall(reconcileKey(prefix)));
  return parsed.success ? parsed.data : undefined;
}
