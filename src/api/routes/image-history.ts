import type { FastifyPluginAsync } from 'fastify';
import type { Config } from '../../config.ts';
import { floatingTagHistories } from '../../catalog/history.ts';
import type { CatalogReader } from '../catalog-reader.ts';
import { requestedImage } from './image-name.ts';

export interface ImageHistoryOptions {
  config: Pick<Config, 'staleAfterMs'>;
  /** The server's reader, shared with the other routes. */
  catalog: CatalogReader;
}

/**
 * `GET /api/images/:name/history`: every digest each floating tag of the image has pointed at,
 * oldest first, with times, for the image and its variants (the images published to the same
 * repository: `static` and `static-dev`), side by side.
 */
export const imageHistoryRoutes: FastifyPluginAsync<ImageHistoryOptions> = async (app, options) => {
  const { config, catalog } = options;
  app.get('/api/images/:name/history', async (request, reply) => {
    const read = { staleAfterMs: config.staleAfterMs, now: Date.now() };
    const { name, image } = await requestedImage(catalog, request.params, read);
    if (!image)
      return reply
        .code(404)
        .send({ error: `no image named ${name ?? 'like that'} in the catalog` });
    const repository = image.latest.repository;
    const { images } = await catalog.listImages(read);
    const family = [
      image.name,
      ...images
        .filter((i) => i.name !== image.name && i.latest.repository === repository)
        .map((i) => i.name)
        .sort(),
    ];
    const tags = [];
    for (const member of family)
      tags.push(...floatingTagHistories(member, await catalog.tagHistory(member)));
    return { image: image.name, repository, images: family, tags };
  });
};
