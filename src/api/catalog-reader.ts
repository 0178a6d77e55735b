import type { RedisClient } from '../queue/connection.ts';
import type { TagEvent } from '../catalog/record.ts';
import {
  catalogRevision,
  getImage,
  judgeCatalog,
  loadCatalog,
  tagHistory,
  type CatalogImage,
  type CatalogReadOptions,
  type JudgedCatalog,
  type StoredImage,
} from '../catalog/store.ts';

/** What the API reads about published images; the default is the Redis catalog. */
export interface CatalogReader {
  listImages(options: CatalogReadOptions): Promise<JudgedCatalog>;
  getImage(name: string, options: CatalogReadOptions): Promise<CatalogImage | undefined>;
  tagHistory(name: string): Promise<TagEvent[]>;
  /** Changes whenever the catalog does; when present, list responses are cached by it. */
  revision?(): Promise<string>;
}

/**
 * The Redis catalog, with the parsed list kept while the catalog's revision stays the same:
 * loading and parsing every record is the costly part of a list, judging staleness is not.
 */
export function redisCatalog(redis: RedisClient, prefix: string): CatalogReader {
  let cache: { revision: string; images: Promise<StoredImage[]> } | undefined;
  const stored = async () => {
    const revision = await catalogRevision(redis, prefix);
    if (cache?.revision !== revision) {
      // The revision is read before the load, so a write in between only causes one extra load.
      const current = { revision, images: loadCatalog(redis, prefix) };
      cache = current;
      current.images.catch(() => {
        if (cache === current) cache = undefined;
      });
      return current.images;
    }
    return cache.images;
  };
  return {
    listImages: async (options) => judgeCatalog(await stored(), options),
    getImage: (name, options) => getImage(redis, prefix, name, options),
    tagHistory: (name) => tagHistory(redis, prefix, name),
    revision: () => catalogRevision(redis, prefix),
  };
}
