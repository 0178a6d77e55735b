import type { FastifyPluginAsync } from 'fastify';
import { loadAssets } from '../assets.ts';

/** The pages' static files (`/assets/catalog.css`), from memory with an ETag. */
export const assetRoutes: FastifyPluginAsync = async (app) => {
  for (const { path, body, etag, type } of await loadAssets()) {
    app.get(path, async (request, reply) => {
      reply.header('etag', etag).header('cache-control', 'public, max-age=300');
      if (request.headers['if-none-match'] === etag) return reply.code(304).send();
      return reply.type(type).send(body);
    });
  }
};
