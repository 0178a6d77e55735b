import { createReadStream } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import type { Config } from '../config.ts';
import { PermanentError } from '../errors.ts';
import { cachedFeed, type FeedCacheOutcome } from './feed-cache.ts';
import { fetchFeed, fileDigest, type FetchedFeed } from './feed-fetch.ts';
import type { VulnFeed } from './model.ts';
import { readOsvArray, readOsvFolder } from './osv-feed.ts';
import { readTrackerFeed } from './tracker-feed.ts';

/** Where a feed came from, for the report. */
export interface FeedOrigin {
  /** The URL or path of KILN_VULN_FEED. */
  location: string;
  format: 'debian-security-tracker' | 'osv';
  /** For a URL: how the cache answered. */
  fetch?: Omit<FetchedFeed, 'file'>;
  /** A file's parse: from the cache of parsed feeds (feed-cache.ts), or parsed and stored. */
  parsed?: FeedCacheOutcome;
}

export interface LoadedFeed {
  feed: VulnFeed;
  origin: FeedOrigin;
}

/**
 * Loads KILN_VULN_FEED keeping only `wanted` source packages: a folder is OSV records; a file
 * (or a fetched URL) starting with `[` is an OSV array, with `{` the tracker's JSON.
 */
export async function loadFeed(
  source: NonNullable<Config['vulnFeed']>,
  cacheDir: string,
  wanted: ReadonlySet<string> | undefined,
): Promise<LoadedFeed> {
  let file: string;
  let fetched: FetchedFeed | undefined;
  if (source.kind === 'url') {
    fetched = await fetchFeed(source.url, cacheDir);
    file = fetched.file;
  } else {
    file = source.path;
    const info = await stat(file).catch((cause: unknown) => {
      throw new PermanentError(`KILN_VULN_FEED ${file}: cannot read it`, { cause });
    });
    if (info.isDirectory()) {
      return {
        feed: await readOsvFolder(file, { wanted }),
        origin: { location: file, format: 'osv' },
      };
    }
  }
  const location = source.kind === 'url' ? source.url : source.path;
  const origin = (format: FeedOrigin['format']): FeedOrigin => ({
    location,
    format,
    ...(fetched
      ? {
          fetch: {
            digest: fetched.digest,
            outcome: fetched.outcome,
            ...(fetched.warning ? { warning: fetched.warning } : {}),
          },
        }
      : {}),
  });
  const first = await firstCharacter(file);
  if (first !== '[' && first !== '{')
    throw new PermanentError(
      `vulnerability feed ${location}: neither the Security Tracker's JSON object nor an OSV array`,
    );
  const format = first === '[' ? 'osv' : 'debian-security-tracker';
  // A fetched feed is content-addressed already; a file is hashed (a fraction of a parse).
  const digest = fetched?.digest ?? (await fileDigest(file));
  if (!digest) throw new PermanentError(`KILN_VULN_FEED ${file}: cannot read it`);
  const parse = () =>
    format === 'osv'
      ? readOsvArray(createReadStream(file), { wanted, what: location })
      : readTrackerFeed(createReadStream(file), { wanted, what: location });
  const { feed, outcome } = await cachedFeed(
    { cacheDir, feedDigest: digest, kind: format, what: location, wanted },
    parse,
  );
  return { feed, origin: { ...origin(format), parsed: outcome } };
}

/** The first character that is not whitespace (or a byte-order mark). */
async function firstCharacter(file: string): Promise<string | undefined> {
  const handle = await open(file, 'r');
  try {
    const buffer = Buffer.alloc(4096);
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
    return /[^\s\uFEFF]/.exec(buffer.subarray(0, bytesRead).toString('utf8'))?.[0];
  } finally {
    await handle.close();
  }
}
