import type { RedisClient } from '../queue/connection.ts';
import { z } from 'zod';
import { PermanentError, TransientError } from '../errors.ts';
import { deleteMatching } from '../queue/keyspace.ts';
import { catalogKeys } from './keys.ts';
import {
  catalogRecordSchema,
  parseStored,
  tagEventSchema,
  versionTag,
  type CatalogRecord,
  type TagEvent,
} from './record.ts';

/*
 * The catalog of published images, kept in Redis beside the queues (under the same prefix).
 * It is a cache of what the registry holds (the registry stays the source of truth), written by
 * the publish job and read by the API, the catalog page, /metrics and `kiln status`.
 *
 * Keys, for prefix P and recipe R:
 *   P:catalog:images          sorted set: R → last publish time (ms)
 *   P:catalog:R:versions      hash: `<version>-r<epoch>` → record JSON
 *   P:catalog:R:tags          hash: tag → the tag's current TagEvent JSON
 *   P:catalog:R:history       list: TagEvent JSON, newest first, capped at HISTORY_LIMIT
 *   P:catalog:R:upstream      hash: upstream version → release time seen by the watcher
 *   P:catalog:R:cves, fix-pending, time-to-fix: the CVE scan (cves.ts)
 *   P:catalog:revision        counter, bumped by every write: readers cache by it
 *
 * The writes below touch several of these keys in one MULTI. On a Redis Cluster that needs them
 * in one slot, which the hash-tagged prefix (`{kiln}`, see src/queue/prefix.ts) guarantees.
 */

const HISTORY_LIMIT = 1000;

/**
 * Records a published image: the record itself, its tags' new positions and the tag history.
 * Called by the publish job after the last tag moved. Publishing the same record again is harmless.
 */
export async function recordPublished(
  redis: RedisClient,
  prefix: string,
  record: CatalogRecord,
): Promise<void> {
  const parsed = catalogRecordSchema.safeParse(record);
  if (!parsed.success) {
    throw new PermanentError(
      `recording ${record.recipe}@${record.version} in the catalog: invalid record: ${z.prettifyError(parsed.error)}`,
    );
  }
  const k = catalogKeys(prefix, parsed.data.recipe);
  const { record: r, unmoved } = await againstStored(redis, k, parsed.data);
  const multi = redis.multi();
  multi.hset(k.versions, versionTag(r), JSON.stringify(r));
  multi.zadd(k.images, Date.parse(r.publishedAt), r.recipe);
  for (const tag of r.tags) {
    if (unmoved.has(tag)) continue;
    const event: TagEvent = {
      tag,
      digest: r.digest,
      version: r.version,
      epoch: r.epoch,
      at: r.publishedAt,
    };
    const json = JSON.stringify(event);
    multi.hset(k.tags, tag, json);
    multi.lpush(k.history, json);
  }
  multi.ltrim(k.history, 0, HISTORY_LIMIT - 1);
  // A published version is a release the watcher has, in effect, seen.
  if (r.upstream.releasedAt) multi.hsetnx(k.upstream, r.version, r.upstream.releasedAt);
  multi.incr(k.revision);
  await exec(multi, `recording ${r.recipe}@${versionTag(r)} in the catalog`);
}

/**
 * A publish run again (a retry, a reconcile after a loss) records an image the catalog may hold:
 * it keeps the first publish time (freshness is when the image first appeared) and build tag, and tags already
 * pointing at the same digest get no new history entry. Read before the MULTI: two publishes of
 * one image at once cannot happen (one job id per request).
 */
async function againstStored(
  redis: RedisClient,
  k: ReturnType<typeof catalogKeys>,
  record: CatalogRecord,
): Promise<{ record: CatalogRecord; unmoved: Set<string> }> {
  let stored: string | null;
  let current: (string | null)[];
  try {
    [stored, current] = await Promise.all([
      redis.hget(k.versions, versionTag(record)),
      record.tags.length > 0 ? redis.hmget(k.tags, ...record.tags) : Promise.resolve([]),
    ]);
  } catch (cause) {
    throw new TransientError(`reading ${record.recipe}@${versionTag(record)} from the catalog`, {
      cause,
    });
  }
  const pointsHere = (json: string | null | undefined) =>
    typeof json === 'string' &&
    tagEventSchema.safeParse(safeJson(json)).data?.digest === record.digest;
  const unmoved = new Set(record.tags.filter((_, i) => pointsHere(current[i])));
  const previous =
    stored === null ? undefined : catalogRecordSchema.safeParse(safeJson(stored)).data;
  return {
    record:
      previous?.digest === record.digest
        ? {
            ...record,
            publishedAt: previous.publishedAt,
            // A re-publish that found the image complete sets no build tag: the first one stays.
            ...((record.buildTag ?? previous.buildTag)
              ? { buildTag: record.buildTag ?? previous.buildTag }
              : {}),
          }
        : record,
    unmoved,
  };
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** Called by the watcher for every upstream release it sees: the basis of staleness. */
export async function recordUpstreamSeen(
  redis: RedisClient,
  prefix: string,
  recipe: string,
  version: string,
  releasedAt: string | Date,
): Promise<void> {
  const at = typeof releasedAt === 'string' ? new Date(releasedAt) : releasedAt;
  if (Number.isNaN(at.getTime())) {
    throw new PermanentError(
      `recording upstream ${recipe}@${version}: release time is not a date: ${String(releasedAt)}`,
    );
  }
  const k = catalogKeys(prefix, recipe);
  await exec(
    redis.multi().hset(k.upstream, version, at.toISOString()).incr(k.revision),
    `recording upstream ${recipe}@${version} in the catalog`,
  );
}

export {
  getImage,
  judgeCatalog,
  listImageNames,
  listImages,
  loadCatalog,
  type CatalogImage,
  type CatalogReadOptions,
  type JudgedCatalog,
  type StoredImage,
} from './read.ts';
import { redisKeys } from '../queue/keys.ts';

/** A value that changes whenever the catalog does: readers may cache what they derived from it. */
export async function catalogRevision(redis: RedisClient, prefix: string): Promise<string> {
  return (await redis.get(catalogKeys(prefix).revision)) ?? '0';
}

/** The tag history of one image, newest first. */
export async function tagHistory(
  redis: RedisClient,
  prefix: string,
  name: string,
  limit = 100,
): Promise<TagEvent[]> {
  const raw = await redis.lrange(catalogKeys(prefix, name).history, 0, limit - 1);
  return raw.map((json) => parseStored(tagEventSchema, json, `tag history of ${name}`));
}

/** Forgets what was published of one image (records, tags, history); upstream releases seen stay. */
export async function clearImage(
  redis: RedisClient,
  prefix: string,
  recipe: string,
): Promise<void> {
  const k = catalogKeys(prefix, recipe);
  await exec(
    redis
      .multi()
      .del(k.versions, k.tags, k.history, k.cves)
      .zrem(k.images, recipe)
      .incr(k.revision),
    `removing ${recipe} from the catalog`,
  );
}

/** Deletes every catalog key under `prefix` (tests, and `rebuildCatalogFromRegistry`). */
export async function clearCatalog(redis: RedisClient, prefix: string): Promise<void> {
  await deleteMatching(redis, redisKeys(prefix).catalog.everything);
}

async function exec(multi: ReturnType<RedisClient['multi']>, what: string): Promise<void> {
  let replies: [Error | null, unknown][] | null;
  try {
    replies = await multi.exec();
  } catch (cause) {
    throw new TransientError(what, { cause });
  }
  const failed = replies?.find(([error]) => error);
  if (!replies || failed) throw new TransientError(what, { cause: failed?.[0] ?? undefined });
}
