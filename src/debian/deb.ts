import { Readable } from 'node:stream';
import tar from 'tar-stream';
import { PermanentError } from '../errors.ts';
import { readAr } from './ar.ts';
import { compressionOf, decompress } from './decompress.ts';

/** One entry of a tar member, its path normalised (no leading `./`), before any safety check. */
export interface TarEntry {
  path: string;
  type: 'file' | 'directory' | 'symlink' | 'link';
  mode: number;
  uid: number;
  gid: number;
  mtime: number;
  linkname: string | undefined;
  data: Buffer | undefined;
}

/** A .deb's two halves, read in memory. */
export interface DebContents {
  /** `control` file text and other control members (md5sums, conffiles). */
  control: Map<string, Buffer>;
  data: TarEntry[];
  /** Build time of the package, from the ar member headers. */
  mtime: number;
}

/** Strips `./` and leading `/`; the caller decides whether what is left is safe. */
export function normaliseTarPath(raw: string): string {
  let p = raw.replace(/^(\.\/)+/, '').replace(/^\/+/, '');
  p = p.replace(/\/+$/, '');
  return p;
}

/** Reads every entry of a tar held in memory. Device nodes and fifos are refused by the caller. */
export async function readTar(data: Buffer, what: string): Promise<TarEntry[]> {
  const out: TarEntry[] = [];
  const extract = tar.extract();
  const done = new Promise<void>((resolve, reject) => {
    extract.on('entry', (header, stream, next) => {
      const chunks: Buffer[] = [];
      stream.on('data', (c: unknown) => {
        if (Buffer.isBuffer(c)) chunks.push(c);
      });
      stream.on('end', () => {
        const type = header.type;
        if (
          type === 'file' ||
          type === 'directory' ||
          type === 'symlink' ||
          type === 'link' ||
          type === 'contiguous-file'
        ) {
          out.push({
            path: normaliseTarPath(header.name),
            type: type === 'contiguous-file' ? 'file' : type,
            mode: (header.mode ?? 0o644) & 0o7777,
            uid: header.uid ?? 0,
            gid: header.gid ?? 0,
            mtime: Math.floor((header.mtime?.getTime() ?? 0) / 1000),
            linkname: header.linkname ?? undefined,
            data: type === 'file' || type === 'contiguous-file' ? Buffer.concat(chunks) : undefined,
          });
        } else {
          reject(
            new PermanentError(`${what}: unsupported tar entry type ${type} at ${header.name}`),
          );
        }
        next();
      });
      stream.on('error', reject);
    });
    extract.on('finish', resolve);
    extract.on('error', reject);
  });
  Readable.from([data]).pipe(extract);
  await done;
  return out;
}

/** Splits a .deb into its control files and its data entries, decompressing xz, zstd or gzip. */
export async function readDeb(deb: Buffer, what: string): Promise<DebContents> {
  let members;
  try {
    members = readAr(deb, what);
  } catch (cause) {
    throw new PermanentError(`reading ${what}: not a valid .deb`, { cause });
  }
  const version = members[0];
  if (version?.name !== 'debian-binary' || !version.data.toString('latin1').startsWith('2.')) {
    throw new PermanentError(`reading ${what}: not a Debian binary package (format 2.x)`);
  }
  const controlMember = members.find((m) => m.name.startsWith('control.tar'));
  const dataMember = members.find((m) => m.name.startsWith('data.tar'));
  if (!controlMember || !dataMember)
    throw new PermanentError(`reading ${what}: control.tar or data.tar missing`);
  const unpack = async (m: { name: string; data: Buffer }): Promise<TarEntry[]> => {
    const compression = compressionOf(m.name);
    if (!compression) throw new PermanentError(`reading ${what}: unsupported member ${m.name}`);
    try {
      return await readTar(await decompress(m.data, compression), `${what} ${m.name}`);
    } catch (cause) {
      if (cause instanceof PermanentError) throw cause;
      throw new PermanentError(`reading ${what}: cannot unpack ${m.name}`, { cause });
    }
  };
  const [controlEntries, data] = await Promise.all([unpack(controlMember), unpack(dataMember)]);
  const control = new Map<string, Buffer>();
  for (const e of controlEntries) if (e.type === 'file' && e.data) control.set(e.path, e.data);
  if (!control.has('control'))
    throw new PermanentError(`reading ${what}: control.tar has no control file`);
  return { control, data, mtime: Math.max(...members.map((m) => m.mtime)) };
}
