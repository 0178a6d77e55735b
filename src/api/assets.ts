import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { FastifyInstance } from 'fastify';

const types: Record<string, string> = { css: 'text/css; charset=utf-8', svg: 'image/svg+xml' };

/** The files in src/api/assets, read once at start-up and served with an ETag from memory. */
export const assetFiles = ['catalog.css'] as const;

export async function registerAssets(app: FastifyInstance): Promise<void> {
  for (const file of assetFiles) {
    const body = await readFile(new URL(`./assets/${file}`, import.meta.url));
    const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`;
    const type = types[file.split('.').pop() ?? ''] ?? 'application/octet-stream';
    app.get(`/assets/${file}`, async (request, reply) => {
      reply.header('etag', etag).header('cache-control', 'public, max-age=300');
      if (request.headers['if-none-match'] === etag) return reply.code(304).send();
      return reply.type(type).send(body);
    });
  }
}
