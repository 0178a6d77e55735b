import { createHash } from 'node:crypto';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import tar from 'tar-stream';
import { PermanentError } from '../errors.ts';
import { normaliseTarPath } from '../debian/deb.ts';

/*
 * The few files of an image's root filesystem a scan needs (dpkg's status, os-release), read from
 * its layers in order with OCI whiteouts applied: each layer is streamed (never unpacked to disk,
 * never held whole), its digest checked, and only wanted files are kept, each under a size cap.
 */

export interface LayerSource {
  digest: string;
  mediaType: string;
  open(): Readable;
}

/** A kept file: its bytes, or the target of a symlink. */
export type KeptFile = { kind: 'file'; data: Buffer } | { kind: 'symlink'; target: string };

/** The most bytes one kept file may have (a full dpkg status of a large system is a few MiB). */
const maxKeptFileBytes = 64 * 1024 * 1024;

function decompressorFor(layer: LayerSource): Transform | undefined {
  if (/\+gzip$|\.gzip$|tar\.gzip|diff\.tar\.gzip/.test(layer.mediaType)) return createGunzip();
  if (/\+zstd$/.test(layer.mediaType))
    throw new PermanentError(
      `layer ${layer.digest}: zstd layers are not read yet (${layer.mediaType})`,
    );
  return undefined;
}

/** A pass-through that hashes what goes by, to check a layer against its digest at the end. */
function hasher(): { stream: Transform; digest: () => string } {
  const hash = createHash('sha256');
  const stream = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      hash.update(chunk);
      done(null, chunk);
    },
  });
  return { stream, digest: () => `sha256:${hash.digest('hex')}` };
}

/** Files for which `wanted(path)` holds, as the image's merged layers leave them. */
export async function readLayerFiles(
  layers: LayerSource[],
  wanted: (path: string) => boolean,
): Promise<Map<string, KeptFile>> {
  const files = new Map<string, KeptFile>();
  for (const layer of layers) await applyLayer(layer, files, wanted);
  return files;
}

/** Applies one layer on top of `files` (the lower layers' result). */
export async function applyLayer(
  layer: LayerSource,
  files: Map<string, KeptFile>,
  wanted: (path: string) => boolean,
): Promise<void> {
  const extract = tar.extract();
  const check = hasher();
  // Whiteouts and opaque markers hide what lower layers left, never this layer's own entries.
  const addedHere = new Set<string>();
  const removeUnder = (dir: string, self: boolean): void => {
    for (const key of [...files.keys()])
      if (
        !addedHere.has(key) &&
        ((self && key === dir) || key.startsWith(dir === '' ? '' : `${dir}/`))
      )
        files.delete(key);
  };
  extract.on('entry', (header, stream, next) => {
    const p = normaliseTarPath(header.name);
    const base = p.slice(p.lastIndexOf('/') + 1);
    const dir = p.includes('/') ? p.slice(0, p.lastIndexOf('/')) : '';
    if (base === '.wh..wh..opq') removeUnder(dir, false);
    else if (base.startsWith('.wh.'))
      removeUnder(`${dir === '' ? '' : `${dir}/`}${base.slice(4)}`, true);
    else if (header.type !== 'directory') files.delete(p);
    const keep = wanted(p) && !base.startsWith('.wh.');
    if (keep && header.type === 'symlink' && header.linkname) {
      files.set(p, { kind: 'symlink', target: header.linkname });
      addedHere.add(p);
    }
    if (!keep || (header.type !== 'file' && header.type !== 'contiguous-file')) {
      stream.resume();
      stream.on('end', next);
      return;
    }
    if ((header.size ?? 0) > maxKeptFileBytes) {
      next(
        new PermanentError(`layer ${layer.digest}: ${p} is larger than ${maxKeptFileBytes} bytes`),
      );
      return;
    }
    const chunks: Buffer[] = [];
    stream.on('data', (c: unknown) => {
      if (Buffer.isBuffer(c)) chunks.push(c);
    });
    stream.on('end', () => {
      files.set(p, { kind: 'file', data: Buffer.concat(chunks) });
      addedHere.add(p);
      next();
    });
  });
  const unpack = decompressorFor(layer);
  try {
    await pipeline([layer.open(), check.stream, ...(unpack ? [unpack] : []), extract]);
  } catch (cause) {
    if (cause instanceof PermanentError) throw cause;
    throw new PermanentError(`reading layer ${layer.digest}: not a readable tar layer`, { cause });
  }
  if (check.digest() !== layer.digest)
    throw new PermanentError(`layer ${layer.digest} does not match its digest (${check.digest()})`);
}

/** A kept file's bytes, following up to 8 symlinks among the kept files (os-release is one). */
export function fileAt(files: Map<string, KeptFile>, p: string): Buffer | undefined {
  let current = p;
  for (let hops = 0; hops < 8; hops++) {
    const f = files.get(current);
    if (!f) return undefined;
    if (f.kind === 'file') return f.data;
    const dir = current.includes('/') ? current.slice(0, current.lastIndexOf('/')) : '';
    current = resolveLink(dir, f.target);
  }
  return undefined;
}

function resolveLink(dir: string, target: string): string {
  const parts = target.startsWith('/') ? [] : dir.split('/').filter(Boolean);
  for (const part of target.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') parts.pop();
    else parts.push(part);
  }
  return parts.join('/');
}
