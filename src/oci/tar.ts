import { createHash } from 'node:crypto';
import { promisify } from 'node:util';
import { gzip as gzipCb, constants as zlibConstants } from 'node:zlib';
import tar, { type Header } from 'tar-stream';
import { PermanentError } from '../errors.ts';

const gzip = promisify(gzipCb);

/** One entry of a layer. Paths are relative to the image root, without `./` or a trailing `/`. */
export interface LayerEntry {
  path: string;
  type: 'file' | 'directory' | 'symlink';
  mode: number;
  uid?: number;
  gid?: number;
  /** File content (type `file`). */
  data?: Buffer;
  /** Symlink target (type `symlink`). */
  linkname?: string;
}

/** Options of {@link writeTarLayer}. */
export interface TarOptions {
  /** Seconds since the epoch for every entry: the build's SOURCE_DATE_EPOCH. */
  mtime: number;
  /** Names the layer in error messages. */
  what: string;
}

export interface TarLayer {
  tar: Buffer;
  /** `sha256:` of the uncompressed tar: the image config's diff_id. */
  diffId: string;
}

/**
 * Refuses a path that could land outside the root when unpacked: absolute, `..`, empty or `.`
 * segments, NUL bytes. Returns it unchanged when safe.
 */
export function checkLayerPath(p: string, what: string): string {
  const bad =
    p === '' ||
    p.startsWith('/') ||
    p.includes('\0') ||
    p.split('/').some((seg) => seg === '' || seg === '.' || seg === '..');
  if (bad)
    throw new PermanentError(
      `${what}: refusing unsafe path ${JSON.stringify(p)} (absolute, empty or containing ..)`,
    );
  return p;
}

/** Whether a relative symlink target, read from the link's folder, climbs above the root. */
export function symlinkEscapes(linkPath: string, target: string): boolean {
  if (target.startsWith('/')) return false; // absolute targets resolve inside the container's root
  let depth = linkPath.split('/').length - 1;
  for (const seg of target.split('/')) {
    if (seg === '..') depth--;
    else if (seg !== '.' && seg !== '') depth++;
    if (depth < 0) return true;
  }
  return false;
}

const byPath = (a: LayerEntry, b: LayerEntry): number =>
  a.path < b.path ? -1 : a.path > b.path ? 1 : 0;

/**
 * Writes entries as a reproducible tar: sorted by path, one entry per path, the same mtime,
 * numeric owners only, no user or group names. Entries under a symlink of the same layer and
 * symlinks climbing out of the root are refused.
 */
export async function writeTarLayer(entries: LayerEntry[], options: TarOptions): Promise<TarLayer> {
  const sorted = [...entries].sort(byPath);
  checkLayerEntries(sorted, options.what);
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  pack.on('data', (c: unknown) => {
    if (Buffer.isBuffer(c)) chunks.push(c);
  });
  const finished = new Promise<void>((resolve, reject) => {
    pack.on('end', resolve);
    pack.on('error', reject);
  });
  const mtime = new Date(options.mtime * 1000);
  for (const e of sorted) {
    await new Promise<void>((resolve, reject) => {
      const done = (err?: Error | null): void => (err ? reject(err) : resolve());
      if (e.type === 'file') pack.entry(tarHeader(e, mtime), e.data ?? Buffer.alloc(0), done);
      else pack.entry(tarHeader(e, mtime), done);
    });
  }
  pack.finalize();
  await finished;
  const out = Buffer.concat(chunks);
  return { tar: out, diffId: `sha256:${createHash('sha256').update(out).digest('hex')}` };
}

/** Refuses bad paths, duplicates, symlinks without a target or out of the root, and entries under a symlink. */
function checkLayerEntries(sorted: LayerEntry[], what: string): void {
  const symlinks = new Set<string>();
  for (let i = 0; i < sorted.length; i++) {
    const e = sorted[i];
    if (!e) continue;
    checkLayerPath(e.path, what);
    if (i > 0 && sorted[i - 1]?.path === e.path)
      throw new PermanentError(`${what}: duplicate path ${e.path}`);
    if (e.type === 'symlink') {
      if (!e.linkname) throw new PermanentError(`${what}: symlink ${e.path} has no target`);
      if (symlinkEscapes(e.path, e.linkname)) {
        throw new PermanentError(
          `${what}: refusing symlink ${e.path} -> ${e.linkname}, it escapes the root`,
        );
      }
      symlinks.add(e.path);
    }
    const parts = e.path.split('/');
    for (let n = 1; n < parts.length; n++) {
      const parent = parts.slice(0, n).join('/');
      if (symlinks.has(parent))
        throw new PermanentError(
          `${what}: refusing ${e.path}, it lies under the symlink ${parent}`,
        );
    }
  }
}

/** Numeric owners, no names, one mtime: the same entry always gives the same header. */
function tarHeader(e: LayerEntry, mtime: Date): Partial<Header> & { name: string } {
  return {
    name: e.type === 'directory' ? `${e.path}/` : e.path,
    mode: e.mode & 0o7777,
    uid: e.uid ?? 0,
    gid: e.gid ?? 0,
    uname: '',
    gname: '',
    mtime,
    type: e.type,
    ...(e.type === 'symlink' ? { linkname: e.linkname } : {}),
    ...(e.type === 'file' ? { size: e.data?.length ?? 0 } : { size: 0 }),
  };
}

/** Fixed gzip settings: node's zlib writes mtime 0 and no file name, so equal tars give equal blobs. */
export const gzipLevel = 6;

export async function gzipLayer(tarBytes: Buffer): Promise<Buffer> {
  return gzip(tarBytes, {
    level: gzipLevel,
    memLevel: 9,
    strategy: zlibConstants.Z_DEFAULT_STRATEGY,
  });
}
