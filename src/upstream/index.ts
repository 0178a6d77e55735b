import type { RecipeUpstream } from '../recipe/schema.ts';
import { suitesOf } from './debian/schema.ts';
import type { SourceClient, SourceId, UpstreamSource } from './types.ts';

/**
 * What the registry knows of a source without loading it: the reference it watches for a recipe
 * upstream, whether its client batches (`fetchMany`), and how to load its module. A source's
 * module (GitHub with octokit, the Debian archive reader…) is imported only when a watcher first
 * talks to it, so `kiln build` of a Debian recipe loads no GitHub client. src/upstream/index.test.ts
 * checks that `refOf` and `batches` agree with the loaded source's own.
 */
interface SourceEntry {
  refOf: UpstreamSource['refOf'];
  batches: boolean;
  load: () => Promise<UpstreamSource>;
}

const entries: Record<SourceId, SourceEntry> = {
  github: {
    refOf: (upstream) => upstream.github,
    batches: true,
    load: async () => (await import('./github/index.ts')).githubSource,
  },
  npm: {
    refOf: (upstream) => upstream.npm,
    batches: false,
    load: async () => (await import('./npm/index.ts')).npmSource,
  },
  pypi: {
    refOf: (upstream) => upstream.pypi,
    batches: false,
    load: async () => (await import('./pypi/index.ts')).pypiSource,
  },
  crates: {
    refOf: (upstream) => upstream.crates,
    batches: false,
    load: async () => (await import('./crates/index.ts')).cratesSource,
  },
  go: {
    refOf: (upstream) => upstream.go,
    batches: false,
    load: async () => (await import('./go/index.ts')).goSource,
  },
  oci: {
    refOf: (upstream) => upstream.oci,
    batches: false,
    load: async () => (await import('./oci/index.ts')).ociSource,
  },
  debian: {
    refOf: (upstream) =>
      upstream.debian
        ? `${suitesOf(upstream.debian.suite).join(',')}/${upstream.debian.package}`
        : undefined,
    batches: false,
    load: async () => (await import('./debian/index.ts')).debianSource,
  },
};

/** The source module of `id`, loaded (once; node keeps the module). */
export function loadSource(id: SourceId): Promise<UpstreamSource> {
  return entries[id].load();
}

/**
 * A source whose module loads on the first request its client makes. The client answers as the
 * loaded one does: `hostOf`, `fetch` and `fetchMany` wait for the module; `stats` and `rateLimit`
 * say nothing until it has loaded (nothing was asked of the upstream before that either).
 */
function lazySource(id: SourceId, entry: SourceEntry): UpstreamSource {
  return {
    id,
    refOf: entry.refOf,
    open(ctx) {
      let client: SourceClient | undefined;
      let opening: Promise<SourceClient> | undefined;
      const real = () => (opening ??= entry.load().then((s) => (client = s.open(ctx))));
      const lazy: SourceClient = {
        hostOf: async (item) => (await real()).hostOf(item),
        fetch: async (item) => (await real()).fetch(item),
        stats: () => client?.stats?.() ?? {},
        rateLimit: () => client?.rateLimit?.(),
      };
      if (entry.batches)
        lazy.fetchMany = async (items) => {
          const c = await real();
          if (c.fetchMany) return c.fetchMany(items);
          return Promise.all(items.map((i) => c.fetch(i).catch((e: unknown) => asError(e))));
        };
      return lazy;
    },
  };
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}

/** Every source, keyed by id (= folder name = recipe `upstream` key). A test keeps this equal to the folders. */
export const upstreamSources: ReadonlyMap<SourceId, UpstreamSource> = new Map(
  (Object.keys(entries) as SourceId[]).map((id) => [id, lazySource(id, entries[id])]),
);

/** The source a recipe's upstream names, and the reference it watches there. */
export function sourceFor(
  upstream: RecipeUpstream,
  sources: ReadonlyMap<SourceId, UpstreamSource> = upstreamSources,
): { source: UpstreamSource; ref: string } | undefined {
  for (const source of sources.values()) {
    const ref = source.refOf(upstream);
    if (ref) return { source, ref };
  }
  return undefined;
}

export type { FetchResult, Release, SourceId, UpstreamSource, WatchItem } from './types.ts';
