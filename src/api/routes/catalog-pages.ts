import type { FastifyPluginAsync } from 'fastify';
import type { Config } from '../../config.ts';
import type { CatalogReader } from '../catalog-reader.ts';
import { familyOf } from '../../catalog/variants.ts';
import { detailView, listView } from '../image-view.ts';
import { catalogPage } from '../pages/catalog-page.ts';
import { html } from '../pages/html.ts';
import { imagePage } from '../pages/image-page.ts';
import { layout } from '../pages/layout.ts';
import { catalogCache } from '../response-cache.ts';
import { requestedImage } from './image-name.ts';

export interface CatalogPageOptions {
  config: Pick<Config, 'registry' | 'staleAfterMs'>;
  /** The server's reader, shared with the JSON API and /metrics so they share its cache. */
  catalog: CatalogReader;
}

/** The server-rendered catalog: `GET /` (every image) and `GET /images/:name` (one image). */
export const catalogPageRoutes: FastifyPluginAsync<CatalogPageOptions> = async (app, options) => {
  const { config, catalog } = options;
  const read = (now = Date.now()) => ({ staleAfterMs: config.staleAfterMs, now });

  // The page shows time only through stale badges (bounds of hours): a 30 s lag is invisible.
  const catalogHtml = catalogCache(
    catalog,
    (now) => String(Math.floor(now / 30_000)),
    async (now) => {
      const { images, freshness, timeToFix } = await catalog.listImages(read(now));
      return catalogPage(listView(config, images), freshness, timeToFix).value;
    },
  );
  app.get('/', async (_request, reply) =>
    reply.type('text/html; charset=utf-8').send(await catalogHtml.get()),
  );

  app.get('/images/:name', async (request, reply) => {
    const { image } = await requestedImage(catalog, request.params, read());
    reply.type('text/html; charset=utf-8');
    if (!image) {
      return reply.code(404).send(
        layout(
          'not found · kiln',
          html`<h1>Not found</h1>
            <p>No image by that name. <a href="/">All images</a></p>`,
        ).value,
      );
    }
    // Its variants (or the image it is a variant of, and that one's other variants).
    const { images } = await catalog.listImages(read());
    const detail = detailView(config, image, familyOf(images, image.name));
    return reply.send(imagePage(detail, await catalog.tagHistory(image.name)).value);
  });
};
