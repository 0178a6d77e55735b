import { redisKeys } from '../queue/keys.ts';

/** The catalog's keys for prefix P and recipe R, from the one key table (src/queue/keys.ts). */
export function catalogKeys(prefix: string, recipe = '') {
  const { images, revision } = redisKeys(prefix).catalog;
  return { images, revision, ...redisKeys(prefix).catalog.of(recipe) };
}
