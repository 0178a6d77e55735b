import { Cluster, type Redis } from 'ioredis';
import type { RedisClient } from './connection.ts';

/** The servers that hold keys: the client itself, or every master of a Cluster (SCAN is per node). */
function keyHolders(redis: RedisClient): Redis[] {
  return redis instanceof Cluster ? redis.nodes('master') : [redis];
}

/**
 * Deletes every key matching `pattern` (a SCAN MATCH glob) and returns how many went. Each key is
 * deleted on its own, on the node that holds it, so this is slot-safe on a Cluster whatever the
 * keys are. For clean-ups, not hot paths.
 */
export async function deleteMatching(redis: RedisClient, pattern: string): Promise<number> {
  let deleted = 0;
  for (const node of keyHolders(redis)) {
    let cursor = '0';
    do {
      const [next, found] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', 500);
      if (found.length > 0) {
        const pipeline = node.pipeline();
        for (const key of found) pipeline.unlink(key);
        await pipeline.exec();
        deleted += found.length;
      }
      cursor = next;
    } while (cursor !== '0');
  }
  return deleted;
}
