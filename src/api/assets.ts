import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';

/** The files in src/api/assets, served by routes/assets.ts. */
export const assetFiles = ['catalog.css'] as const;

export interface Asset {
  /** The URL path: `/assets/<file>`. */
  path: string;
  body: Buffer;
  etag: string;
  type: string;
}

const types: Record<string, string> = { css: 'text/css; charset=utf-8', svg: 'image/svg+xml' };

/*
 * Reads the assets once. This module sits beside assets/ on purpose: the bundle is flat and
 * copies assets/ beside its chunks (scripts/build.js), so `./assets/…` resolves in both.
 */
export async function loadAssets(): Promise<Asset[]> {
  return Promise.all(
    assetFiles.map(async (file) => {
      const body = await readFile(new URL(`./assets/${file}`, import.meta.url));
      const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`;
      const type = types[file.split('.').pop() ?? ''] ?? 'application/octet-stream';
      return { path: `/assets/${file}`, body, etag, type };
    }),
  );
}
