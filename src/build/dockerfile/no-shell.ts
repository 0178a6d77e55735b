import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import tar from 'tar-stream';
import { PermanentError } from '../../errors.ts';
import { OciLayout } from '../../oci/layout.ts';
import { LayoutSchema } from '../../oci/manifest-schema.ts';
import { MediaType } from '../../oci/media-types.ts';

/*
 * kiln's images are distroless: a Dockerfile build whose image still holds a shell (a base that
 * was not minimal, a `COPY --from=build /bin/`) fails unless the recipe says `shell: true`. The
 * check reads the layers' entry names only (streamed, nothing unpacked), applying whiteouts, so
 * a shell an upper layer deleted does not count.
 */

const shellNames = ['sh', 'bash', 'dash', 'ash', 'busybox', 'zsh', 'ksh', 'mksh', 'csh', 'tcsh'];
const binDirs = ['bin', 'sbin', 'usr/bin', 'usr/sbin', 'usr/local/bin'];
/** Image paths (no leading slash) that make an image one with a shell. */
export const shellPaths: readonly string[] = binDirs.flatMap((d) =>
  shellNames.map((n) => `${d}/${n}`),
);
const shellSet = new Set(shellPaths);

function normalize(name: string): string {
  return name.replace(/^(\.\/|\/)+/, '').replace(/\/+$/, '');
}

/** The shell paths present in the image `manifestDigest` of the layout, after whiteouts. */
export async function shellsInImage(layoutDir: string, manifestDigest: string): Promise<string[]> {
  const layout = new OciLayout(layoutDir);
  const manifest = LayoutSchema.manifestLayers.parse(await layout.readJson(manifestDigest));
  const present = new Set<string>();
  for (const layer of manifest.layers) {
    const gzipped = layer.mediaType === MediaType.layerGzip || layer.mediaType.endsWith('+gzip');
    if (!gzipped && layer.mediaType !== MediaType.layerTar)
      throw new PermanentError(
        `checking ${manifestDigest} for a shell: layer ${layer.digest} has unsupported media type ${layer.mediaType}`,
      );
    const added: string[] = [];
    const removed: string[] = [];
    const opaque: string[] = [];
    const extract = tar.extract();
    extract.on('entry', (header, stream, next) => {
      const name = normalize(header.name);
      const base = name.slice(name.lastIndexOf('/') + 1);
      const dir = name.includes('/') ? name.slice(0, name.lastIndexOf('/')) : '';
      if (base === '.wh..wh..opq') opaque.push(dir);
      else if (base.startsWith('.wh.'))
        removed.push(dir ? `${dir}/${base.slice('.wh.'.length)}` : base.slice('.wh.'.length));
      else if (shellSet.has(name) && header.type !== 'directory') added.push(name);
      stream.on('end', next);
      stream.resume();
    });
    const source = layout.blobStream(layer.digest);
    await (gzipped ? pipeline(source, createGunzip(), extract) : pipeline(source, extract)).catch(
      (cause: unknown) => {
        throw new PermanentError(
          `checking ${manifestDigest} for a shell: cannot read layer ${layer.digest}`,
          { cause },
        );
      },
    );
    // Whiteouts hide what the layers below hold, not this layer's own entries.
    for (const p of [...present]) {
      if (removed.some((r) => p === r || p.startsWith(`${r}/`))) present.delete(p);
      else if (opaque.some((d) => d === '' || p.startsWith(`${d}/`))) present.delete(p);
    }
    for (const p of added) present.add(p);
  }
  return [...present].sort();
}
