/** Where the catalog lives in Redis, for prefix P and recipe R (the table is in store.ts). */
export const catalogKeys = (prefix: string, recipe?: string) => ({
  images: `${prefix}:catalog:images`,
  revision: `${prefix}:catalog:revision`,
  versions: `${prefix}:catalog:${recipe}:versions`,
  tags: `${prefix}:catalog:${recipe}:tags`,
  history: `${prefix}:catalog:${recipe}:history`,
  upstream: `${prefix}:catalog:${recipe}:upstream`,
});
