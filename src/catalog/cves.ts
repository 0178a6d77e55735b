import { z } from 'zod';
import { TransientError } from '../errors.ts';
import type { RedisClient } from '../queue/connection.ts';
import { catalogKeys } from './keys.ts';
import { parseStored } from './record.ts';

/*
 * The CVEs each published image carries, as the vulnerability scan (src/vuln/catalog-scan.ts)
 * last found them for the newest image of each stream, and the time each fix took to reach a
 * tagged image (time to fix). Keys, for prefix P and recipe R (src/queue/keys.ts):
 *   P:catalog:R:cves         hash: `<version>-r<epoch>` → CveSummary JSON (stream heads only)
 *   P:catalog:R:fix-pending  hash: `<stream> <CVE>` → {since, digest}: a fix was in the suites
 *                            at `since` and the image `digest` still lacked it
 *   P:catalog:R:time-to-fix  hash: `<stream> <CVE> <version tag>` → TimeToFix JSON
 */

const isoTime = z.iso.datetime({ offset: true });

export const fixableCveSchema = z.object({
  cve: z.string(),
  source: z.string(),
  /** The installed source version. */
  installed: z.string(),
  fixedVersion: z.string(),
  /** The suite that holds the fix, e.g. `trixie-security`. */
  suite: z.string(),
  urgency: z.string(),
});
export type FixableCve = z.infer<typeof fixableCveSchema>;

export const cveSummarySchema = z.object({
  recipe: z.string(),
  stream: z.string(),
  version: z.string(),
  epoch: z.number().int().nonnegative(),
  digest: z.string(),
  /** The Debian release the image was judged against. */
  release: z.string(),
  scannedAt: isoTime,
  /** Where the feed came from (KILN_VULN_FEED), and its sha256 when fetched. */
  feed: z.string(),
  /** Open CVEs (fixable and unfixed). */
  total: z.number().int().nonnegative(),
  fixable: z.number().int().nonnegative(),
  /** Open CVEs by the tracker's urgency. */
  byUrgency: z.record(z.string(), z.number().int().nonnegative()),
  fixableCves: z.array(fixableCveSchema),
});
export type CveSummary = z.infer<typeof cveSummarySchema>;

const pendingSchema = z.object({ since: isoTime, digest: z.string() });

export const timeToFixSchema = z.object({
  stream: z.string(),
  cve: z.string(),
  /** When a scan first found the fix in a suite while the image lacked it. */
  fixableSince: isoTime,
  /** The image that no longer carries it, and when it was tagged. */
  fixedIn: z.string(),
  fixedAt: isoTime,
  ms: z.number().nonnegative(),
});
export type TimeToFix = z.infer<typeof timeToFixSchema>;

/** One scanned stream head: its summary and when its image was tagged. */
export interface ScannedHead {
  summary: CveSummary;
  publishedAt: string;
}

/**
 * Stores one recipe's scan: its stream heads' summaries replace the previous ones; a fixable CVE
 * not pending yet starts waiting now; a pending one that a newer image of its stream no longer
 * carries is fixed, and the wait from then to that image's tag is a time-to-fix sample. A
 * pending CVE gone from the same image (the feed changed its mind) is dropped without a sample.
 */
export async function recordCveScan(
  redis: RedisClient,
  prefix: string,
  recipe: string,
  heads: readonly ScannedHead[],
  now: Date,
): Promise<TimeToFix[]> {
  const k = catalogKeys(prefix, recipe);
  const pendingRaw = await redis.hgetall(k.fixPending).catch((cause: unknown) => {
    throw new TransientError(`reading the pending CVE fixes of ${recipe}`, { cause });
  });
  const pending = new Map(
    Object.entries(pendingRaw).flatMap(([field, json]) => {
      const parsed = pendingSchema.safeParse(safeJson(json));
      return parsed.success ? [[field, parsed.data] as const] : [];
    }),
  );
  const multi = redis.multi().del(k.cves);
  const samples: TimeToFix[] = [];
  for (const { summary, publishedAt } of heads) {
    const tag = `${summary.version}-r${summary.epoch}`;
    multi.hset(k.cves, tag, JSON.stringify(summary));
    const open = new Set(summary.fixableCves.map((f) => f.cve));
    for (const cve of open) {
      const field = `${summary.stream} ${cve}`;
      if (!pending.has(field))
        multi.hset(
          k.fixPending,
          field,
          JSON.stringify({ since: now.toISOString(), digest: summary.digest }),
        );
    }
    for (const [field, p] of pending) {
      const [stream, cve] = field.split(' ');
      if (stream !== summary.stream || !cve || open.has(cve)) continue;
      multi.hdel(k.fixPending, field);
      if (p.digest === summary.digest) continue;
      const sample: TimeToFix = {
        stream,
        cve,
        fixableSince: p.since,
        fixedIn: tag,
        fixedAt: publishedAt,
        ms: Math.max(0, Date.parse(publishedAt) - Date.parse(p.since)),
      };
      samples.push(sample);
      multi.hset(k.timeToFix, `${field} ${tag}`, JSON.stringify(sample));
    }
  }
  multi.incr(k.revision);
  const replies = await multi.exec().catch((cause: unknown) => {
    throw new TransientError(`recording the CVE scan of ${recipe}`, { cause });
  });
  const failed = replies?.find(([error]) => error);
  if (!replies || failed)
    throw new TransientError(`recording the CVE scan of ${recipe}`, {
      cause: failed?.[0] ?? undefined,
    });
  return samples;
}

/** The stored CVE summaries of one recipe, by version tag. */
export async function readCveSummaries(
  redis: RedisClient,
  prefix: string,
  recipe: string,
): Promise<Map<string, CveSummary>> {
  const raw = await redis.hgetall(catalogKeys(prefix, recipe).cves);
  return new Map(
    Object.entries(raw).map(([tag, json]) => [
      tag,
      parseStored(cveSummarySchema, json, `CVE summary of ${recipe} ${tag}`),
    ]),
  );
}

/** Every time-to-fix sample of one recipe. */
export async function readTimeToFix(
  redis: RedisClient,
  prefix: string,
  recipe: string,
): Promise<TimeToFix[]> {
  const raw = await redis.hgetall(catalogKeys(prefix, recipe).timeToFix);
  return Object.values(raw)
    .map((json) => parseStored(timeToFixSchema, json, `time to fix of ${recipe}`))
    .sort((a, b) => Date.parse(b.fixedAt) - Date.parse(a.fixedAt));
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
