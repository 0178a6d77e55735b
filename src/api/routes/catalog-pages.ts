import type { FastifyPluginAsync } from 'fastify';
import type { Config } from '../../config.ts';
import type { CatalogReader } from '../catalog-reader.ts';
import { detailView, summaryView } from '../image-view.ts';
import { catalogPage } from '../pages/catalog-page.ts';
import { html } from '../pages/html.ts';
import { imagePage } from '../pages/image-page.ts';
import { versionTag } from '../../catalog/record.ts';
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
      return catalogPage(
        images.map((i) => summaryView(config, i)),
        freshness,
        timeToFix,
      ).value;
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
    // Its variants (or the image it is a variant of): the images of the same repository.
    const { images } = await catalog.listImages(read());
    const siblings = images
      .filter((i) => i.name !== image.name && i.latest.repository === image.latest.repository)
      .sort((a, b) => a.name.localeCompare(b.name))
      .map((i) => ({ name: i.name, versionTag: versionTag(i.latest), tags: i.latest.tags }));
    return reply.send(
      imagePage(detailView(config, image), await catalog.tagHistory(image.name), siblings).value,
    );
  });
};
