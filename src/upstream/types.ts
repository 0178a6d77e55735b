import type { Redis } from 'ioredis';
import type { Config } from '../config.ts';
import type { Logger } from '../log.ts';
import type { RecipeUpstream } from '../recipe/schema.ts';
import type { GithubSourceOptions } from './github/options.ts';

/**
 * `archive`: the Date of the first Debian InRelease kiln saw listing the version. `first-seen`:
 * the release time is unknown and `publishedAt` is when kiln first saw the version.
 */
export type PublishedAtSource = 'archive' | 'first-seen';

/** One upstream release, as a source reports it: raw, before any recipe's version rules. */
export interface Release {
  /** Version candidate derived from the tag (leading `v` removed); checked to be safe. */
  version: string;
  /** The upstream's own name for the release: git tag, npm version, image tag. */
  tag: string;
  /** ISO 8601 time of publication, when the upstream says. */
  publishedAt?: string;
  /** Where `publishedAt` came from when it is not the upstream's own statement (see UpstreamRelease). */
  publishedAtSource?: PublishedAtSource;
  prerelease: boolean;
  /** Where a person can look at the release. */
  url?: string;
  /** Artifact checksums the upstream publishes, keyed `sha256:<file>` or `sha512` etc. */
  checksums?: Record<string, string>;
}

/** What a source returns for one upstream. */
export interface FetchResult {
  releases: Release[];
  /** True when the upstream answered "not modified" and `releases` came from the cache. */
  unchanged: boolean;
  /** Entries refused as hostile or unusable, with the reason: logged, never built. */
  rejected: RejectedRelease[];
}

export interface RejectedRelease {
  tag: string;
  reason: string;
}

/** Everything a source needs to reach its upstream. Built once per watcher. */
export interface SourceContext {
  config: Config;
  log: Logger;
  /** Validators and last results live here, so a restarted watcher does not re-download. */
  cache: ValidatorCache;
  /** Largest response body accepted, in bytes; larger answers are refused while streaming. */
  maxBodyBytes: number;
  /** Per-request timeout in milliseconds. */
  timeoutMs: number;
  /** Per-source tuning, e.g. GitHub batch sizes; defaults suit the public services. */
  sourceOptions?: { github?: GithubSourceOptions };
}

/** Cached state of one upstream: HTTP validators and the releases they vouch for. */
export interface CachedEntry {
  etag?: string;
  lastModified?: string;
  releases: Release[];
  /** Source-specific extra validators (e.g. several URLs of one upstream). */
  extra?: Record<string, string>;
}

export interface ValidatorCache {
  get(key: string): Promise<CachedEntry | undefined>;
  set(key: string, entry: CachedEntry): Promise<void>;
}

/** One recipe's upstream to check: the recipe, its reference for this source, its settings. */
export interface WatchItem {
  recipe: string;
  /** What the source watches: `owner/repo`, a package name, an image repository. */
  ref: string;
  upstream: RecipeUpstream;
}

/** A source opened for one watcher: holds clients, budgets and what it learnt (batch sizes). */
export interface SourceClient {
  /** Host the requests go to: the watcher limits concurrency per host. */
  hostOf(item: WatchItem): string | Promise<string>;
  fetch(item: WatchItem): Promise<FetchResult>;
  /** Sources that can answer many items in one request (GitHub GraphQL) implement this. */
  fetchMany?(items: WatchItem[]): Promise<(FetchResult | Error)[]>;
  /** Counters for logs, metrics and benchmarks. */
  stats?(): Record<string, number | undefined>;
  /** What the upstream last said about its rate limit, for metrics; undefined if it never said. */
  rateLimit?(): { remaining: number; limit?: number; resetAt?: number } | undefined;
}

/** A source of releases: one folder under src/upstream, registered in src/upstream/index.ts. */
export interface UpstreamSource {
  /** Folder name and recipe `upstream` key. */
  readonly id: SourceId;
  /** The reference this source watches for a recipe (`owner/repo`, a package name), if any. */
  refOf(upstream: RecipeUpstream): string | undefined;
  open(ctx: SourceContext): SourceClient;
}

export type SourceId = 'github' | 'npm' | 'pypi' | 'crates' | 'go' | 'oci' | 'debian';

export type { Redis };
