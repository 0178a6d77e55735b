import type { Redis } from 'ioredis';
import type { FreshnessSummary } from '../catalog/freshness.ts';
import type { TagEvent } from '../catalog/record.ts';
import {
  getImage,
  listImages,
  tagHistory,
  type CatalogImage,
  type CatalogReadOptions,
} from '../catalog/store.ts';

/** What the API reads about published images; the default is the Redis catalog. */
export interface CatalogReader {
  listImages(
    options: CatalogReadOptions,
  ): Promise<{ images: CatalogImage[]; freshness: FreshnessSummary }>;
  getImage(name: string, options: CatalogReadOptions): Promise<CatalogImage | undefined>;
  tagHistory(name: string): Promise<TagEvent[]>;
}

export function redisCatalog(redis: Redis, prefix: string): CatalogReader {
  return {
    listImages: (options) => listImages(redis, prefix, options),
    getImage: (name, options) => getImage(redis, prefix, name, options),
    tagHistory: (name) => tagHistory(redis, prefix, name),
  };
}
