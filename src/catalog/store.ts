import type { Redis } from 'ioredis';
import { z } from 'zod';
import { PermanentError, TransientError } from '../errors.ts';
import {
  freshnessMs,
  staleness,
  summariseFreshness,
  type FreshnessSummary,
  type Staleness,
} from './freshness.ts';
import {
  catalogRecordSchema,
  tagEventSchema,
  upstreamSeenSchema,
  versionTag,
  type CatalogRecord,
  type TagEvent,
  type UpstreamSeen,
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
 */

const HISTORY_LIMIT = 1000;

const keys = (prefix: string, recipe?: string) => ({
  images: `${prefix}:catalog:images`,
  versions: `${prefix}:catalog:${recipe}:versions`,
  tags: `${prefix}:catalog:${recipe}:tags`,
  history: `${prefix}:catalog:${recipe}:history`,
  upstream: `${prefix}:catalog:${recipe}:upstream`,
});

/**
 * Records a published image: the record itself, its tags' new positions and the tag history.
 * Called by the publish job after the last tag moved. Publishing the same record again is harmless.
 */
export async function recordPublished(
  redis: Redis,
  prefix: string,
  record: CatalogRecord,
): Promise<void> {
  const parsed = catalogRecordSchema.safeParse(record);
  if (!parsed.success) {
    throw new PermanentError(
      `recording ${record.recipe}@${record.version} in the catalog: invalid record: ${z.prettifyError(parsed.error)}`,
    );
  }
  const r = parsed.data;
  const k = keys(prefix, r.recipe);
  const multi = redis.multi();
  multi.hset(k.versions, versionTag(r), JSON.stringify(r));
  multi.zadd(k.images, Date.parse(r.publishedAt), r.recipe);
  for (const tag of r.tags) {
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
  await exec(multi, `recording ${r.recipe}@${versionTag(r)} in the catalog`);
}

/** Called by the watcher for every upstream release it sees: the basis of staleness. */
export async function recordUpstreamSeen(
  redis: Redis,
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
  try {
    await redis.hset(keys(prefix, recipe).upstream, version, at.toISOString());
  } catch (cause) {
    throw new TransientError(`recording upstream ${recipe}@${version} in the catalog`, { cause });
  }
}

/** Options for reads that judge staleness. */
export interface CatalogReadOptions {
  /** How long a newer upstream release may wait before the image is stale (config.staleAfterMs). */
  staleAfterMs: number;
  /** Current time in ms; a parameter so tests and callers agree on "now". */
  now?: number;
}

/** One image as the catalog sees it: its current release and everything published before. */
export interface CatalogImage {
  name: string;
  /** The record the `latest` tag points at, or else the most recently published one. */
  latest: CatalogRecord;
  /** Every published record, newest publish first. */
  versions: CatalogRecord[];
  /** Each tag's current position. */
  tags: TagEvent[];
  /** Upstream releases the watcher has seen, newest release first. */
  upstreamSeen: UpstreamSeen[];
  /** Freshness of `latest` in ms (undefined when the upstream release time is unknown). */
  freshnessMs: number | undefined;
  staleness: Staleness;
}

/** Names of every image in the catalog, most recently published first. */
export async function listImageNames(redis: Redis, prefix: string): Promise<string[]> {
  return redis.zrevrange(keys(prefix).images, 0, -1);
}

/** One image with its versions, tags and staleness; undefined when the catalog has no such image. */
export async function getImage(
  redis: Redis,
  prefix: string,
  name: string,
  options: CatalogReadOptions,
): Promise<CatalogImage | undefined> {
  const [image] = await readImages(redis, prefix, [name], options);
  return image;
}

/** Every image, most recently published first, with the fleet's freshness median and p95. */
export async function listImages(
  redis: Redis,
  prefix: string,
  options: CatalogReadOptions,
): Promise<{ images: CatalogImage[]; freshness: FreshnessSummary }> {
  const names = await listImageNames(redis, prefix);
  const images = await readImages(redis, prefix, names, options);
  return { images, freshness: summariseFreshness(images.map((i) => i.freshnessMs)) };
}

/** The tag history of one image, newest first. */
export async function tagHistory(
  redis: Redis,
  prefix: string,
  name: string,
  limit = 100,
): Promise<TagEvent[]> {
  const raw = await redis.lrange(keys(prefix, name).history, 0, limit - 1);
  return raw.map((json) => parseStored(tagEventSchema, json, `tag history of ${name}`));
}

/** Deletes every catalog key under `prefix` (tests, and `rebuildCatalogFromRegistry`). */
export async function clearCatalog(redis: Redis, prefix: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, found] = await redis.scan(cursor, 'MATCH', `${prefix}:catalog:*`, 'COUNT', 500);
    if (found.length > 0) await redis.del(...found);
    cursor = next;
  } while (cursor !== '0');
}

async function readImages(
  redis: Redis,
  prefix: string,
  names: readonly string[],
  options: CatalogReadOptions,
): Promise<CatalogImage[]> {
  if (names.length === 0) return [];
  const pipeline = redis.pipeline();
  for (const name of names) {
    const k = keys(prefix, name);
    pipeline.hgetall(k.versions);
    pipeline.hgetall(k.tags);
    pipeline.hgetall(k.upstream);
  }
  const replies = await pipeline.exec();
  if (!replies)
    throw new TransientError(`reading ${names.length} catalog images: pipeline discarded`);
  const now = options.now ?? Date.now();
  const images: CatalogImage[] = [];
  names.forEach((name, i) => {
    const [versionsRaw, tagsRaw, upstreamRaw] = [0, 1, 2].map((j) => {
      const [error, value] = replies[i * 3 + j]!;
      if (error) throw new TransientError(`reading catalog image ${name}`, { cause: error });
      return z.record(z.string(), z.string()).parse(value);
    }) as [Record<string, string>, Record<string, string>, Record<string, string>];
    const versions = Object.values(versionsRaw)
      .map((json) => parseStored(catalogRecordSchema, json, `catalog record of ${name}`))
      .sort((a, b) => Date.parse(b.publishedAt) - Date.parse(a.publishedAt));
    if (versions.length === 0) return;
    const tags = Object.values(tagsRaw)
      .map((json) => parseStored(tagEventSchema, json, `tags of ${name}`))
      .sort((a, b) => a.tag.localeCompare(b.tag));
    const upstreamSeen = Object.entries(upstreamRaw)
      .map(([version, releasedAt]) => upstreamSeenSchema.parse({ version, releasedAt }))
      .sort((a, b) => Date.parse(b.releasedAt) - Date.parse(a.releasedAt));
    const latestTag = tags.find((t) => t.tag === 'latest');
    const latest =
      (latestTag &&
        versions.find((v) => v.digest === latestTag.digest && v.version === latestTag.version)) ??
      versions[0]!;
    images.push({
      name,
      latest,
      versions,
      tags,
      upstreamSeen,
      freshnessMs: freshnessMs(latest),
      staleness: staleness(versions, upstreamSeen, options.staleAfterMs, now),
    });
  });
  return images;
}

function parseStored<T>(schema: z.ZodType<T>, json: string, what: string): T {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch (cause) {
    throw new PermanentError(`reading ${what}: stored value is not JSON`, { cause });
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success)
    throw new PermanentError(`reading ${what}: ${z.prettifyError(parsed.error)}`);
  return parsed.data;
}

async function exec(multi: ReturnType<Redis['multi']>, what: string): Promise<void> {
  let replies: [Error | null, unknown][] | null;
  try {
    replies = await multi.exec();
  } catch (cause) {
    throw new TransientError(what, { cause });
  }
  const failed = replies?.find(([error]) => error);
  if (!replies || failed) throw new TransientError(what, { cause: failed?.[0] ?? undefined });
}
