import { z } from 'zod';
import type { CatalogImage, CatalogReadOptions } from '../../catalog/store.ts';
import type { CatalogReader } from '../catalog-reader.ts';

const imageParams = z.object({ name: z.string().regex(/^[a-z0-9][a-z0-9._-]{0,127}$/) });

/**
 * The image named by a route's `:name`, shared by the JSON API and the pages: `name` is
 * undefined when the parameter is not an image name, `image` when no such image is published.
 */
export async function requestedImage(
  catalog: CatalogReader,
  params: unknown,
  options: CatalogReadOptions,
): Promise<{ name?: string; image?: CatalogImage }> {
  const parsed = imageParams.safeParse(params);
  if (!parsed.success) return {};
  return { name: parsed.data.name, image: await catalog.getImage(parsed.data.name, options) };
}
