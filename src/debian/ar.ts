import { PermanentError } from '../errors.ts';

/*
 * The `ar` archive format of a .deb (deb(5)): an 8-byte magic, then members with a 60-byte
 * text header (name, mtime, uid, gid, mode, size, magic) and data padded to an even length.
 * Written by hand: it is 40 lines, and the npm ar readers are unmaintained or stream-only.
 */

export interface ArMember {
  name: string;
  /** Seconds since the epoch, from the member header (a .deb's build time). */
  mtime: number;
  data: Buffer;
}

const magic = '!<arch>\n';

export function readAr(archive: Buffer, what: string): ArMember[] {
  if (archive.subarray(0, 8).toString('latin1') !== magic)
    throw new PermanentError(`${what} is not an ar archive`);
  const members: ArMember[] = [];
  let offset = 8;
  while (offset < archive.length) {
    if (offset + 60 > archive.length)
      throw new PermanentError(`${what}: truncated ar header at byte ${offset}`);
    const header = archive.subarray(offset, offset + 60).toString('latin1');
    if (header.slice(58, 60) !== '`\n')
      throw new PermanentError(`${what}: bad ar member header at byte ${offset}`);
    const name = header.slice(0, 16).trim().replace(/\/$/, '');
    const mtime = Number(header.slice(16, 28).trim());
    const sizeField = header.slice(48, 58).trim();
    const size = /^\d+$/.test(sizeField) ? Number(sizeField) : NaN;
    if (!Number.isSafeInteger(size))
      throw new PermanentError(`${what}: bad size for ar member ${name}`);
    const start = offset + 60;
    if (start + size > archive.length)
      throw new PermanentError(`${what}: ar member ${name} runs past the end`);
    members.push({
      name,
      mtime: Number.isFinite(mtime) ? mtime : 0,
      data: archive.subarray(start, start + size),
    });
    offset = start + size + (size % 2);
  }
  return members;
}
