import { createGunzip } from 'node:zlib';
import { Readable } from 'node:stream';
import tar from 'tar-stream';
import { OciLayout } from '../../src/oci/layout.ts';
import type { ImageManifest } from '../../src/oci/media-types.ts';

/** Reads one file out of an image's layers (the last layer that has it wins). */
export async function readImageFile(
  layoutDir: string,
  manifestDigest: string,
  file: string,
): Promise<string | undefined> {
  const layout = new OciLayout(layoutDir);
  const manifest = await layout.readJson<ImageManifest>(manifestDigest);
  const wanted = file.replace(/^\/+/, '');
  let found: string | undefined;
  for (const layer of manifest.layers) {
    const extract = tar.extract();
    const done = new Promise<void>((resolve, reject) => {
      extract.on('entry', (header, stream, next) => {
        const name = header.name.replace(/^\.?\/+/, '');
        const chunks: Buffer[] = [];
        stream.on('data', (c: unknown) => {
          if (Buffer.isBuffer(c)) chunks.push(c);
        });
        stream.on('end', () => {
          if (name === wanted) found = Buffer.concat(chunks).toString('utf8');
          next();
        });
        stream.resume();
      });
      extract.on('finish', resolve);
      extract.on('error', reject);
    });
    const source: Readable = layout.blobStream(layer.digest);
    (layer.mediaType.endsWith('gzip') ? source.pipe(createGunzip()) : source).pipe(extract);
    await done;
  }
  return found;
}
