import type { FastifyPluginAsync } from 'fastify';
import type { Config } from '../../config.ts';
import type { CatalogReader } from '../catalog-reader.ts';
import { familyOf } from '../../catalog/variants.ts';
import { detailView, listView } from '../image-view.ts';
import { catalogCache } from '../response-cache.ts';
import { requestedImage } from './image-name.ts';

export interface ImageApiOptions {
  config: Pick<Config, 'registry' | 'staleAfterMs'>;
  /** The server's reader, shared with the pages and /metrics so they share its cache. */
  catalog: CatalogReader;
}

/** `GET /api/images` (every image, and the fleet's freshness) and `GET /api/images/:name`. */
export const imageApiRoutes: FastifyPluginAsync<ImageApiOptions> = async (app, options) => {
  const { config, catalog } = options;
  const read = (now = Date.now()) => ({ staleAfterMs: config.staleAfterMs, now });

  // The JSON shows how long pending releases have waited: it may lag the clock by 5 s.
  const imagesJson = catalogCache(
    catalog,
    (now) => String(Math.floor(now / 5000)),
    async (now) => {
      const { images, freshness, timeToFix } = await catalog.listImages(read(now));
      return JSON.stringify({
        // Every image, variants too (so a link to one keeps working); a main image lists its
        // variants beside it: one entry per image is the rows whose variantOf is null.
        images: listView(config, images),
        freshness: {
          images: freshness.count,
          medianSeconds:
            freshness.medianMs === undefined ? null : Math.round(freshness.medianMs / 1000),
          p95Seconds: freshness.p95Ms === undefined ? null : Math.round(freshness.p95Ms / 1000),
        },
        /** From a CVE fix reaching a suite to the signed image without it being tagged. */
        timeToFix: {
          fixes: timeToFix.count,
          medianSeconds:
            timeToFix.medianMs === undefined ? null : Math.round(timeToFix.medianMs / 1000),
          p95Seconds: timeToFix.p95Ms === undefined ? null : Math.round(timeToFix.p95Ms / 1000),
        },
        staleAfterSeconds: Math.round(config.staleAfterMs / 1000),
      });
    },
  );
  app.get('/api/images', async (_request, reply) =>
    reply.type('application/json; charset=utf-8').send(await imagesJson.get()),
  );

  app.get('/api/images/:name', async (request, reply) => {
    const { name, image } = await requestedImage(catalog, request.params, read());
    if (!image)
      return reply
        .code(404)
        .send({ error: `no image named ${name ?? 'like that'} in the catalog` });
    const { images } = await catalog.listImages(read());
    return {
      ...detailView(config, image, familyOf(images, image.name)),
      history: await catalog.tagHistory(image.name),
    };
  });
};
