import type { RedisClient } from '../queue/connection.ts';
import { z } from 'zod';
import { TransientError } from '../errors.ts';
import {
  freshnessMs,
  staleness,
  summariseFreshness,
  type FreshnessSummary,
  type Staleness,
} from './freshness.ts';
import {
  catalogRecordSchema,
  parseStored,
  tagEventSchema,
  upstreamSeenSchema,
  type CatalogRecord,
  type TagEvent,
  type UpstreamSeen,
  versionTag,
} from './record.ts';
import { catalogKeys } from './keys.ts';
import { cveSummarySchema, timeToFixSchema, type CveSummary, type TimeToFix } from './cves.ts';

/*
 * Reading the catalog, in two steps: load (Redis round trip and parsing: the costly part, which
 * only changes with the catalog's revision) and judge (freshness and staleness at a given time:
 * cheap, and it changes with the clock). Callers that cache keep the first and redo the second.
 */

/** Options for reads that judge staleness. */
export interface CatalogReadOptions {
  /** How long a newer upstream release may wait before the image is stale (config.staleAfterMs). */
  staleAfterMs: number;
  /** Current time in ms; a parameter so tests and callers agree on "now". */
  now?: number;
}

/** One image as stored: its records, tags and the upstream releases seen. */
export interface StoredImage {
  name: string;
  /** The record the `latest` tag points at, or else the most recently published one. */
  latest: CatalogRecord;
  /** Every published record, newest publish first. */
  versions: CatalogRecord[];
  /** Each tag's current position, by tag name. */
  tags: TagEvent[];
  /** Upstream releases the watcher has seen, newest release first. */
  upstreamSeen: UpstreamSeen[];
  /** The last CVE scan of each stream's newest image (src/catalog/cves.ts), by version tag. */
  cves: Record<string, CveSummary>;
  /** How long each CVE fix took to reach a tagged image, newest first. */
  timeToFix: TimeToFix[];
}

/** One image judged at a time: what the API, metrics and `kiln status` show. */
export interface CatalogImage extends StoredImage {
  /** Freshness of `latest` in ms (undefined when the upstream release time is unknown). */
  freshnessMs: number | undefined;
  staleness: Staleness;
  /** The CVE scan of `latest`, when one has run since it was published. */
  latestCves: CveSummary | undefined;
}

// Built once: constructing a zod schema costs far more than using it.
const redisHash = z.record(z.string(), z.string());

/** Names of every image in the catalog, most recently published first. */
export async function listImageNames(redis: RedisClient, prefix: string): Promise<string[]> {
  return redis.zrevrange(catalogKeys(prefix).images, 0, -1);
}

/** Loads and parses the named images (all of them by default); images without records are left out. */
export async function loadCatalog(
  redis: RedisClient,
  prefix: string,
  names?: readonly string[],
): Promise<StoredImage[]> {
  const wanted = names ?? (await listImageNames(redis, prefix));
  if (wanted.length === 0) return [];
  const pipeline = redis.pipeline();
  for (const name of wanted) {
    const k = catalogKeys(prefix, name);
    pipeline
      .hgetall(k.versions)
      .hgetall(k.tags)
      .hgetall(k.upstream)
      .hgetall(k.cves)
      .hgetall(k.timeToFix);
  }
  const replies = await pipeline.exec();
  if (!replies)
    throw new TransientError(`reading ${wanted.length} catalog images: pipeline discarded`);
  const hash = (name: string, index: number): Record<string, string> => {
    const [error, value] = replies[index] ?? [new Error('missing reply'), undefined];
    if (error) throw new TransientError(`reading catalog image ${name}`, { cause: error });
    return redisHash.parse(value);
  };
  return wanted.flatMap((name, i) => {
    const versions = Object.values(hash(name, i * 5))
      .map((json) => parseStored(catalogRecordSchema, json, `catalog record of ${name}`))
      .sort((a, b) => Date.parse(b.publishedAt) - Date.parse(a.publishedAt));
    const newest = versions[0];
    if (!newest) return [];
    const tags = Object.values(hash(name, i * 5 + 1))
      .map((json) => parseStored(tagEventSchema, json, `tags of ${name}`))
      .sort((a, b) => a.tag.localeCompare(b.tag));
    const upstreamSeen = Object.entries(hash(name, i * 5 + 2))
      .map(([version, releasedAt]) => upstreamSeenSchema.parse({ version, releasedAt }))
      .sort((a, b) => Date.parse(b.releasedAt) - Date.parse(a.releasedAt));
    const latestTag = tags.find((t) => t.tag === 'latest');
    const latest =
      (latestTag &&
        versions.find((v) => v.digest === latestTag.digest && v.version === latestTag.version)) ??
      newest;
    const cves = Object.fromEntries(
      Object.entries(hash(name, i * 5 + 3)).map(([tag, json]) => [
        tag,
        parseStored(cveSummarySchema, json, `CVE summary of ${name} ${tag}`),
      ]),
    );
    const timeToFix = Object.values(hash(name, i * 5 + 4))
      .map((json) => parseStored(timeToFixSchema, json, `time to fix of ${name}`))
      .sort((a, b) => Date.parse(b.fixedAt) - Date.parse(a.fixedAt));
    return [{ name, latest, versions, tags, upstreamSeen, cves, timeToFix }];
  });
}

/** Freshness and staleness of loaded images at `options.now`, and the fleet's median and p95. */
export function judgeCatalog(
  stored: readonly StoredImage[],
  options: CatalogReadOptions,
): JudgedCatalog {
  const now = options.now ?? Date.now();
  const images = stored.map((image) => ({
    ...image,
    freshnessMs: freshnessMs(image.latest),
    staleness: staleness(image.versions, image.upstreamSeen, options.staleAfterMs, now),
    latestCves: latestCves(image),
  }));
  return {
    images,
    freshness: summariseFreshness(images.map((i) => i.freshnessMs)),
    timeToFix: summariseFreshness(images.flatMap((i) => i.timeToFix.map((t) => t.ms))),
  };
}

/** The scan of the latest record, if it is of that very image (a newer publish awaits its scan). */
function latestCves(image: StoredImage): CveSummary | undefined {
  const summary = image.cves[versionTag(image.latest)];
  return summary?.digest === image.latest.digest ? summary : undefined;
}

/** The judged images, the fleet's freshness, and its time to fix (one value per CVE fixed). */
export interface JudgedCatalog {
  images: CatalogImage[];
  freshness: FreshnessSummary;
  timeToFix: FreshnessSummary;
}

/** Every image, most recently published first, with the fleet's freshness median and p95. */
export async function listImages(
  redis: RedisClient,
  prefix: string,
  options: CatalogReadOptions,
): Promise<JudgedCatalog> {
  return judgeCatalog(await loadCatalog(redis, prefix), options);
}

/** One image with its versions, tags and staleness; undefined when the catalog has no such image. */
export async function getImage(
  redis: RedisClient,
  prefix: string,
  name: string,
  options: CatalogReadOptions,
): Promise<CatalogImage | undefined> {
  return judgeCatalog(await loadCatalog(redis, prefix, [name]), options).images[0];
}
