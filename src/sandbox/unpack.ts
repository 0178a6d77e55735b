import {
  chmod,
  chown,
  lchown,
  link,
  lstat,
  mkdir,
  readdir,
  rm,
  symlink,
  writeFile,
} from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import tar from 'tar-stream';
import { KilnError, PermanentError } from '../errors.ts';
import { OciLayout } from '../oci/layout.ts';
import { LayoutSchema } from '../oci/manifest-schema.ts';
import { MediaType } from '../oci/media-types.ts';
import { checkLayerPath } from '../oci/tar.ts';
import { secureJoin } from './secure-path.ts';

const isRoot = process.getuid?.() === 0;

const whiteoutPrefix = '.wh.';
const opaqueMarker = '.wh..wh..opq';

/**
 * What a layer path means as a whiteout. Refuses names that would remove the root or climb out of
 * it (`.wh.`, `.wh..`, `.wh...`), a whiteout that is not the last segment (`a/.wh.b/c`) and a
 * whiteout of a whiteout. AUFS metadata (`.wh..wh.plnk`, …) is skipped, as containers/storage does.
 */
export function classifyWhiteout(
  rel: string,
  what: string,
): 'none' | 'file' | 'opaque' | 'aufs-metadata' {
  const segments = rel.split('/');
  const last = segments.length - 1;
  const refuse = (why: string): never => {
    throw new PermanentError(`${what}: refusing whiteout ${JSON.stringify(rel)}: ${why}`);
  };
  for (const [i, seg] of segments.entries()) {
    if (!seg.startsWith(whiteoutPrefix)) continue;
    if (seg.startsWith(whiteoutPrefix + whiteoutPrefix))
      return seg === opaqueMarker && i === last ? 'opaque' : 'aufs-metadata';
    if (i !== last) refuse('entries under a whiteout are not allowed');
    const name = seg.slice(whiteoutPrefix.length);
    if (name === '' || name === '.' || name === '..')
      refuse(`it names ${name === '..' ? 'the folder above its own' : 'its own folder'}`);
    return 'file';
  }
  return 'none';
}

/** `target` itself when it lies strictly inside `root`; a PermanentError naming the entry otherwise. */
function insideRoot(root: string, target: string, entry: string, what: string): string {
  const rel = path.relative(root, target);
  if (rel === '' || rel === '..' || rel.startsWith('../') || path.isAbsolute(rel))
    throw new PermanentError(
      `${what}: refusing whiteout ${JSON.stringify(entry)}: it would remove ${rel === '' ? 'the root' : 'a path outside the root'}`,
    );
  return target;
}

/**
 * Unpacks an image's layers from an OCI layout into `dest`, in order, applying whiteouts, as a
 * runtime would. Every path is checked and resolved inside `dest`: a hostile layer cannot write
 * outside it. Device nodes and fifos are skipped (tests do not need them, and creating them
 * needs privileges).
 */
export async function unpackLayout(
  layoutDir: string,
  manifestDigest: string,
  dest: string,
): Promise<void> {
  const layout = new OciLayout(layoutDir);
  const manifest = LayoutSchema.manifestLayers.parse(await layout.readJson(manifestDigest));
  await mkdir(dest, { recursive: true });
  const knownDirs = new Set<string>();
  for (const layer of manifest.layers) {
    const gzipped =
      layer.mediaType === MediaType.layerGzip ||
      layer.mediaType.endsWith('.tar.gzip') ||
      layer.mediaType.endsWith('diff.tar.gzip');
    if (!gzipped && layer.mediaType !== MediaType.layerTar) {
      throw new PermanentError(
        `unpacking ${manifestDigest}: layer ${layer.digest} has unsupported media type ${layer.mediaType}`,
      );
    }
    // Read fully and check the digest first: nothing unverified is unpacked.
    const blob = await layout.readBlob(layer.digest);
    await applyLayer(blob, gzipped, dest, `layer ${layer.digest}`, knownDirs);
  }
}

async function applyLayer(
  blob: Buffer,
  gzipped: boolean,
  dest: string,
  what: string,
  knownDirs: Set<string>,
): Promise<void> {
  const extract = tar.extract();
  extract.on('entry', (header, stream, next) => {
    const chunks: Buffer[] = [];
    stream.on('data', (c: unknown) => {
      if (Buffer.isBuffer(c)) chunks.push(c);
    });
    stream.on('end', () => {
      applyEntry(header, Buffer.concat(chunks), dest, what, knownDirs).then(
        () => next(),
        (error: unknown) =>
          next(asLayerError(error, `${what}: entry ${JSON.stringify(header.name)}`, what)),
      );
    });
    stream.on('error', next);
  });
  const source = Readable.from([blob]);
  try {
    if (gzipped) await pipeline(source, createGunzip(), extract);
    else await pipeline(source, extract);
  } catch (error) {
    throw asLayerError(error, `${what}: not a valid ${gzipped ? 'gzip-compressed ' : ''}tar`, what);
  }
}

/** File-system errors a layer's own content causes (a link to nothing, a file used as a folder). */
const badContentCodes = new Set([
  'ENOENT',
  'EEXIST',
  'ENOTDIR',
  'EISDIR',
  'ELOOP',
  'ENAMETOOLONG',
  'EINVAL',
  'ENOTEMPTY',
]);

/**
 * A broken layer is a permanent failure naming the layer: tar and gzip format errors, and the
 * file-system errors its content causes. Other system errors (no space, no permission) pass as is.
 */
function asLayerError(error: unknown, what: string, layer: string): Error {
  if (error instanceof KilnError)
    return error.message.includes(layer) || !(error instanceof PermanentError)
      ? error
      : new PermanentError(`${what}: ${error.message}`, { cause: error });
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  const syscall = (error as NodeJS.ErrnoException | undefined)?.syscall;
  if (syscall !== undefined && !(code !== undefined && badContentCodes.has(code)))
    return error instanceof Error ? error : new Error(String(error));
  const detail = error instanceof Error ? error.message : String(error);
  return new PermanentError(`${what} (${detail})`, { cause: error });
}

/** The tar header fields unpacking reads. */
interface EntryHeader {
  name: string;
  type: string | null;
  mode?: number;
  uid?: number;
  gid?: number;
  linkname?: string | null;
  mtime?: Date;
}

/** Where one layer entry goes and what is known of the tree so far. */
interface EntryPlace {
  header: EntryHeader;
  dest: string;
  what: string;
  knownDirs: Set<string>;
  /** The entry's path inside the layer, checked: no `..`, no absolute path. */
  rel: string;
  /** Its folder inside the layer: '' for the root. */
  dir: string;
  base: string;
}

async function applyEntry(
  header: EntryHeader,
  data: Buffer,
  dest: string,
  what: string,
  knownDirs: Set<string>,
): Promise<void> {
  const rel = header.name
    .replace(/^(\.\/)+/, '')
    .replace(/^\/+/, '')
    .replace(/\/+$/, '');
  if (rel === '' || rel === '.') return;
  checkLayerPath(rel, what);
  const dir = path.posix.dirname(rel);
  const place: EntryPlace = {
    header,
    dest,
    what,
    knownDirs,
    rel,
    dir: dir === '.' ? '' : dir,
    base: path.posix.basename(rel),
  };
  const whiteout = classifyWhiteout(rel, what);
  if (whiteout === 'aufs-metadata') return;
  if (whiteout === 'opaque') return applyOpaqueWhiteout(place);
  if (whiteout === 'file') return applyFileWhiteout(place);
  const mode = (header.mode ?? 0o644) & 0o7777;
  const target = await prepareTarget(place, mode);
  if (target === undefined) return;
  if (!(await writeEntry(place, data, target, mode))) return;
  await setOwnerAndMode(header, target, mode);
}

/** `.wh..wh..opq`: the folder's earlier content goes; the folder must be a directory. */
async function applyOpaqueWhiteout({ header, dest, what, knownDirs, dir }: EntryPlace) {
  const target = await secureJoin(dest, dir, true, knownDirs);
  const st = await lstat(target).catch(() => undefined);
  if (st && !st.isDirectory())
    throw new PermanentError(
      `${what}: refusing opaque whiteout ${JSON.stringify(header.name)}, its folder is not a directory`,
    );
  for (const name of await readdir(target).catch(() => [] as string[]))
    await rm(insideRoot(dest, path.join(target, name), header.name, what), {
      recursive: true,
      force: true,
    });
  knownDirs.clear();
}

/** `.wh.<name>`: the earlier layer's `<name>` goes. */
async function applyFileWhiteout({ header, dest, what, knownDirs, dir, base }: EntryPlace) {
  const parent = await secureJoin(dest, dir, true, knownDirs);
  const removed = insideRoot(
    dest,
    path.join(parent, base.slice(whiteoutPrefix.length)),
    header.name,
    what,
  );
  await rm(removed, { recursive: true, force: true });
  knownDirs.clear();
}

/**
 * The entry's path on disk, its parent made and what was there removed; undefined when the
 * entry is a directory already made (only its mode is set).
 */
async function prepareTarget(place: EntryPlace, mode: number): Promise<string | undefined> {
  const { header, dest, knownDirs } = place;
  const parentDir = await secureJoin(dest, place.dir, true, knownDirs);
  if (!knownDirs.has(parentDir)) {
    await mkdir(parentDir, { recursive: true });
    knownDirs.add(parentDir);
  }
  const target = path.join(parentDir, place.base);
  if (header.type === 'directory' && knownDirs.has(target)) {
    await chmod(target, mode);
    return undefined;
  }
  const existing = await lstat(target).catch(() => undefined);
  if (existing && !(existing.isDirectory() && header.type === 'directory')) {
    await rm(target, { recursive: true, force: true });
    if (existing.isDirectory()) knownDirs.clear();
  }
  return target;
}

/** Makes the entry at `target`; false for what is skipped (devices and fifos). */
async function writeEntry(
  place: EntryPlace,
  data: Buffer,
  target: string,
  mode: number,
): Promise<boolean> {
  const { header, knownDirs } = place;
  switch (header.type) {
    case 'directory':
      await mkdir(target, { recursive: true });
      knownDirs.add(target);
      return true;
    case 'file':
    case 'contiguous-file':
      await writeFile(target, data, { mode });
      return true;
    case 'symlink':
      await symlink(header.linkname ?? '', target);
      return true;
    case 'link':
      await hardLink(place, target);
      return true;
    default:
      return false; // devices and fifos: skipped
  }
}

/** A hard link to a file already unpacked in this tree; never to a directory or outside it. */
async function hardLink({ header, dest, what, knownDirs, rel }: EntryPlace, target: string) {
  const linkRel = (header.linkname ?? '').replace(/^(\.\/)+/, '').replace(/^\/+/, '');
  checkLayerPath(linkRel, `${what} hard link ${rel}`);
  const source = await secureJoin(dest, linkRel, false, knownDirs);
  const kind = await lstat(source).catch(() => undefined);
  if (!kind || kind.isDirectory())
    throw new PermanentError(
      `${what}: hard link ${rel} -> ${linkRel}: ${kind ? 'a directory cannot be hard-linked' : 'its target does not exist'}`,
    );
  await link(source, target);
}

async function setOwnerAndMode(header: EntryHeader, target: string, mode: number): Promise<void> {
  const owned = (header.uid ?? 0) !== 0 || (header.gid ?? 0) !== 0;
  if (header.type === 'symlink') {
    if (isRoot && owned) await lchown(target, header.uid ?? 0, header.gid ?? 0);
    return;
  }
  if (header.type === 'link') return; // shares its target's inode, owner and mode
  if (isRoot && owned) await chown(target, header.uid ?? 0, header.gid ?? 0);
  // writeFile's mode passes through the umask, and setuid bits need an explicit chmod.
  if (header.type === 'directory' || (mode & 0o7022) !== 0) await chmod(target, mode);
}
