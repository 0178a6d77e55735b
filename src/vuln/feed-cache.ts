import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { urgencies, type CveRecord, type VulnFeed } from './model.ts';

/*
 * The parsed, filtered feed kept on disk: parsing the 70 MB tracker feed costs seconds of CPU,
 * and every publish (a child process) and catalog scan asks again. An entry is keyed by the
 * feed's content digest (the sha256 of its bytes), the set of source packages asked for, the
 * feed's location (its refusals name it) and {@link feedCacheFormat}; it holds the sha256 of its own payload, and one whose payload does
 * not match, or that is not the shape below, is refused and rebuilt. A changed feed has another
 * digest, so it misses. `<cache>/vuln/parsed/<sha256(key)>.json`.
 */

/** Bumped whenever the model or the parsers change what a parse keeps. */
export const feedCacheFormat = 1;

const statusSchema = z.object({
  status: z.enum(['resolved', 'open', 'undetermined']),
  fixedVersion: z.string().optional(),
  urgency: z.enum(urgencies),
  noDsa: z.string().optional(),
  repositories: z.record(z.string(), z.string()).optional(),
  binaries: z.array(z.string()).optional(),
});

const payloadSchema = z.object({
  sources: z.array(
    z.tuple([
      z.string(),
      z.array(
        z.object({
          id: z.string(),
          description: z.string().optional(),
          releases: z.array(z.tuple([z.string(), statusSchema])),
        }),
      ),
    ]),
  ),
  refusals: z.array(z.object({ where: z.string(), reason: z.string() })),
  refused: z.number().int().nonnegative(),
  sourcesSeen: z.number().int().nonnegative(),
});

const entrySchema = z.object({
  format: z.literal(feedCacheFormat),
  key: z.string(),
  payloadDigest: z.string(),
  payload: z.string(),
});

const sha256 = (s: string): string => createHash('sha256').update(s).digest('hex');

/** `what` (the feed's location) is in the key too: the refusals name it. */
function keyOf(
  feedDigest: string,
  kind: string,
  what: string,
  wanted: ReadonlySet<string> | undefined,
): string {
  const sources = wanted ? [...wanted].sort().join(',') : '*';
  return JSON.stringify([feedCacheFormat, kind, feedDigest, what, sources]);
}

function entryPath(cacheDir: string, key: string): string {
  return path.join(cacheDir, 'vuln', 'parsed', `${sha256(key)}.json`);
}

function serialise(feed: VulnFeed): string {
  return JSON.stringify({
    sources: [...feed.sources].map(([source, cves]) => [
      source,
      [...cves.values()].map((r) => ({
        id: r.id,
        description: r.description,
        releases: [...r.releases],
      })),
    ]),
    refusals: feed.refusals,
    refused: feed.refused,
    sourcesSeen: feed.sourcesSeen,
  });
}

function deserialise(payload: string): VulnFeed {
  const p = payloadSchema.parse(JSON.parse(payload));
  const sources = new Map<string, Map<string, CveRecord>>();
  for (const [source, records] of p.sources)
    sources.set(
      source,
      new Map(
        records.map((r) => [
          r.id,
          {
            id: r.id,
            description: r.description,
            releases: new Map(
              r.releases.map(([release, s]) => [
                release,
                {
                  ...s,
                  fixedVersion: s.fixedVersion,
                  noDsa: s.noDsa,
                  repositories: s.repositories,
                },
              ]),
            ),
          },
        ]),
      ),
    );
  return { sources, refusals: p.refusals, refused: p.refused, sourcesSeen: p.sourcesSeen };
}

/** What a lookup did: `hit`, `miss` (no entry), or `refused` (a damaged entry, rebuilt). */
export type FeedCacheOutcome = 'hit' | 'miss' | 'refused';

/** The cached parse, else `parse()` stored for the next time. */
export interface FeedCacheKey {
  cacheDir: string;
  /** `sha256:<hex>` of the feed's bytes. */
  feedDigest: string;
  /** The format the bytes were parsed as. */
  kind: string;
  what: string;
  wanted: ReadonlySet<string> | undefined;
}

export async function cachedFeed(
  k: FeedCacheKey,
  parse: () => Promise<VulnFeed>,
): Promise<{ feed: VulnFeed; outcome: FeedCacheOutcome }> {
  const { cacheDir } = k;
  const key = keyOf(k.feedDigest, k.kind, k.what, k.wanted);
  const file = entryPath(cacheDir, key);
  const text = await readFile(file, 'utf8').catch(() => undefined);
  let outcome: FeedCacheOutcome = 'miss';
  if (text !== undefined) {
    const feed = readEntry(text, key);
    if (feed) return { feed, outcome: 'hit' };
    outcome = 'refused';
  }
  const feed = await parse();
  const payload = serialise(feed);
  const entry = JSON.stringify({
    format: feedCacheFormat,
    key,
    payloadDigest: sha256(payload),
    payload,
  });
  await mkdir(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.${Date.now()}.tmp`;
  await writeFile(tmp, entry);
  await rename(tmp, file);
  return { feed, outcome };
}

/** The entry's feed, or undefined when it is damaged or for another key. */
function readEntry(text: string, key: string): VulnFeed | undefined {
  try {
    const entry = entrySchema.parse(JSON.parse(text));
    if (entry.key !== key || sha256(entry.payload) !== entry.payloadDigest) return undefined;
    return deserialise(entry.payload);
  } catch {
    return undefined;
  }
}
