import { createHash } from 'node:crypto';

/*
 * The local GitHub's data and accounting: repositories with releases and tags shaped like the
 * real API's, and the rate-limit buckets the real service keeps (core for REST, graphql for
 * GraphQL). A 304 answer does not spend a point, as on GitHub.
 */

export interface FakeRelease {
  id: number;
  tagName: string;
  name: string;
  prerelease: boolean;
  draft: boolean;
  createdAt: string;
  publishedAt: string | null;
  sha: string;
}

export interface FakeRepo {
  id: number;
  owner: string;
  name: string;
  releases: FakeRelease[];
  /** Lightweight and annotated tags, newest first. */
  tags: { name: string; sha: string; date: string }[];
}

export interface Bucket {
  limit: number;
  remaining: number;
  /** Epoch seconds. */
  reset: number;
  used: number;
}

export interface Stats {
  restRequests: number;
  graphqlRequests: number;
  notModified: number;
  restPoints: number;
  graphqlPoints: number;
  injected502: number;
  rateLimited: number;
  /** Repository fields asked for per GraphQL request, in order. */
  batchSizes: number[];
}

export interface Faults {
  /** Probability (0..1) that a REST request gets a 502 (seeded, so runs repeat). */
  rest502Rate: number;
  /** GraphQL requests asking for more repositories than this get a 502 (a gateway timeout). */
  graphql502Above: number;
  /** The next N GraphQL requests get a 502 whatever their size. */
  graphql502Next: number;
  /** Largest node count a GraphQL query may ask for (GitHub: 500,000). */
  nodeLimit: number;
  /** The next N REST requests get a secondary rate limit 403 with this Retry-After (seconds). */
  secondaryNext: number;
  secondaryRetryAfter: number;
  /** GitHub answers secondary limits with 403 or 429. */
  secondaryStatus: 403 | 429;
  /** Repositories (`owner/name`, lowercase) GraphQL refuses with FORBIDDEN (e.g. SAML-protected). */
  graphqlForbidden: Set<string>;
}

export function newStats(): Stats {
  return {
    restRequests: 0,
    graphqlRequests: 0,
    notModified: 0,
    restPoints: 0,
    graphqlPoints: 0,
    injected502: 0,
    rateLimited: 0,
    batchSizes: [],
  };
}

export class GithubState {
  readonly repos = new Map<string, FakeRepo>();
  stats = newStats();
  faults: Faults = {
    rest502Rate: 0,
    graphql502Above: Infinity,
    graphql502Next: 0,
    nodeLimit: 500_000,
    secondaryNext: 0,
    secondaryRetryAfter: 1,
    secondaryStatus: 403,
    graphqlForbidden: new Set(),
  };
  readonly buckets: { core: Bucket; graphql: Bucket; anonymous: Bucket };
  private seed = 1;
  /** Length of a rate-limit window in seconds (GitHub: one hour). */
  readonly windowSeconds: number;
  private nextId = 1000;

  constructor(
    /** Accepted bearer tokens; anything else is a 401. */
    readonly tokens: Set<string>,
    limits: { core?: number; graphql?: number; anonymous?: number; windowSeconds?: number } = {},
  ) {
    this.windowSeconds = limits.windowSeconds ?? 3600;
    const reset = Math.floor(Date.now() / 1000) + this.windowSeconds;
    this.buckets = {
      core: { limit: limits.core ?? 5000, remaining: limits.core ?? 5000, reset, used: 0 },
      graphql: { limit: limits.graphql ?? 5000, remaining: limits.graphql ?? 5000, reset, used: 0 },
      anonymous: {
        limit: limits.anonymous ?? 60,
        remaining: limits.anonymous ?? 60,
        reset,
        used: 0,
      },
    };
  }

  key(owner: string, name: string): string {
    return `${owner}/${name}`.toLowerCase();
  }

  get(owner: string, name: string): FakeRepo | undefined {
    return this.repos.get(this.key(owner, name));
  }

  /** Adds a repository with `releases` published releases (semver, newest first) and as many tags. */
  addRepo(
    fullName: string,
    options: { releases?: number; tags?: number; prefix?: string } = {},
  ): FakeRepo {
    const [owner = '', name = ''] = fullName.split('/');
    const repo: FakeRepo = { id: this.nextId++, owner, name, releases: [], tags: [] };
    const count = options.releases ?? 3;
    const base = Date.parse('2024-01-01T00:00:00Z');
    for (let i = 0; i < count; i++) {
      const at = new Date(base + i * 86_400_000).toISOString().replace('.000', '');
      this.pushRelease(repo, `${options.prefix ?? 'v'}1.${i}.0`, at);
    }
    const tagCount = options.tags ?? count;
    for (let i = repo.tags.length; i < tagCount; i++)
      repo.tags.push({
        name: `nightly-${String.fromCharCode(97 + (i % 26))}`,
        sha: this.sha(),
        date: new Date(base).toISOString(),
      });
    this.repos.set(this.key(owner, name), repo);
    return repo;
  }

  /**
   * Publishes a new release (and its tag) at the front of the lists: the repository changes.
   * `at` dates it (default: now), e.g. a real release's date so no cooldown holds it.
   */
  publish(
    fullName: string,
    tagName: string,
    options: { prerelease?: boolean; draft?: boolean; at?: Date } = {},
  ): void {
    const [owner = '', name = ''] = fullName.split('/');
    const repo = this.get(owner, name);
    if (!repo) throw new Error(`no repository ${fullName}`);
    const at = (options.at ?? new Date()).toISOString().replace(/\.\d{3}/, '');
    this.pushRelease(repo, tagName, at, options);
  }

  private pushRelease(
    repo: FakeRepo,
    tagName: string,
    at: string,
    options: { prerelease?: boolean; draft?: boolean } = {},
  ): void {
    const sha = this.sha();
    repo.releases.unshift({
      id: this.nextId++,
      tagName,
      name: tagName,
      prerelease: options.prerelease ?? /-(rc|beta|alpha)/.test(tagName),
      draft: options.draft ?? false,
      createdAt: at,
      publishedAt: options.draft ? null : at,
      sha,
    });
    repo.tags.unshift({ name: tagName, sha, date: at });
  }

  /** Spends `points` from a bucket; false when the bucket is empty (the request is refused). */
  spend(bucket: Bucket, points: number): boolean {
    const now = Math.floor(Date.now() / 1000);
    if (now >= bucket.reset) {
      bucket.remaining = bucket.limit;
      bucket.used = 0;
      bucket.reset = now + this.windowSeconds;
    }
    if (bucket.remaining < points || bucket.remaining === 0) return false;
    bucket.remaining -= points;
    bucket.used += points;
    return true;
  }

  /** Deterministic pseudo-random number in [0, 1) for injected faults. */
  random(): number {
    // mulberry32: small, and without the runs of a plain LCG.
    this.seed = (this.seed + 0x6d2b79f5) | 0;
    let t = this.seed;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  private sha(): string {
    return createHash('sha1').update(String(this.nextId++)).digest('hex');
  }
}

export function etagOf(body: string): string {
  return `W/"${createHash('sha256').update(body).digest('hex').slice(0, 40)}"`;
}
