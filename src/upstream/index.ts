import type { RecipeUpstream } from '../recipe/schema.ts';
import { cratesSource } from './crates/index.ts';
import { debianSource } from './debian/index.ts';
import { githubSource } from './github/index.ts';
import { goSource } from './go/index.ts';
import { npmSource } from './npm/index.ts';
import { ociSource } from './oci/index.ts';
import { pypiSource } from './pypi/index.ts';
import type { SourceId, UpstreamSource } from './types.ts';

/** Every source, keyed by id (= folder name = recipe `upstream` key). A test keeps this equal to the folders. */
export const upstreamSources: ReadonlyMap<SourceId, UpstreamSource> = new Map<
  SourceId,
  UpstreamSource
>(
  [githubSource, npmSource, pypiSource, cratesSource, goSource, ociSource, debianSource].map(
    (s) => [s.id, s],
  ),
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
