import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import os from 'node:os';
import { crc32 } from 'node:zlib';

/*
 * The compact form of one Packages index: what resolution reads, in typed arrays over one
 * buffer, so loading it is reading a file and checking its hash, with nothing to parse. The
 * same bytes live on disk (index-cache.ts) and in memory.
 *
 *   header      magic "KILNPKIX", format version, counts, sha256 of the index it came from
 *   offsets     u32 × (strings + 1)      string i is pool[offsets[i], offsets[i+1])
 *   records     u32 × 10 per record       string ids (none = 0xffffffff) and the multi-arch code
 *   sizes       f64 per record
 *   sha256      32 bytes per record
 *   names       keys / starts / entries   package name → its record ids, in index order
 *   provided    keys / starts / entries   provided name → (record id, position in its Provides)
 *   name hash, provided hash             open addressing over the keys' bytes (FNV-1a)
 *   pool        every distinct value once, as the index's bytes
 *   trailer     CRC-32 of everything before it: a damaged file is refused and rebuilt (a
 *               checksum against damage, 10× cheaper than a sha256 on a 30 MB file)
 *
 * Opened from its file, only the lookup tables (offsets, name groups, hash tables: ~20 % of
 * the bytes) are held; records, sizes, sha256s and strings are read where a lookup needs them.
 */

/** CRC-32 of a file's bytes before its trailer, read in pieces, against the trailer. */
function checksumProblem(fd: number, length: number): string | undefined {
  const piece = Buffer.allocUnsafe(1 << 20);
  let crc = 0;
  for (let at = 0; at < length - 8;) {
    const n = readSync(fd, piece, 0, Math.min(piece.length, length - 8 - at), at);
    if (n === 0) return 'damaged (truncated)';
    crc = crc32(piece.subarray(0, n), crc);
    at += n;
  }
  const trailer = Buffer.alloc(4);
  readSync(fd, trailer, 0, 4, length - 8);
  return crc === trailer.readUInt32LE(0) ? undefined : 'damaged (its checksum does not match)';
}

const magic = Buffer.from('KILNPKIX', 'latin1');
/** Bumped whenever the layout or what is kept changes: an older file is then rebuilt. */
export const compactFormatVersion = 2;
export const none = 0xffffffff;
export const multiArchCodes = ['no', 'same', 'foreign', 'allowed'] as const;
export type MultiArch = (typeof multiArchCodes)[number];

/** Fields of a record, in the order of `records`. */
export const Field = {
  name: 0,
  version: 1,
  arch: 2,
  multiArch: 3,
  source: 4,
  sourceVersion: 5,
  preDepends: 6,
  depends: 7,
  provides: 8,
  filename: 9,
} as const;
export type Field = (typeof Field)[keyof typeof Field];
const fieldCount = 10;
const headerWords = 12;
const headerBytes = magic.length + headerWords * 4 + 32;

export interface Groups {
  keys: Uint32Array;
  starts: Uint32Array;
  entries: Uint32Array;
}

/** The tables of a compact index, before encoding or as views over a decoded one. */
export interface CompactTables {
  sourceSha256: string;
  offsets: Uint32Array;
  pool: Buffer;
  records: Uint32Array;
  sizes: Float64Array;
  sha256: Buffer;
  names: Groups;
  provided: Groups;
}

const align8 = (n: number): number => (n + 7) & ~7;

function fnv1a(bytes: Uint8Array, start: number, end: number): number {
  let h = 0x811c9dc5;
  for (let i = start; i < end; i++) {
    h ^= bytes[i] ?? 0;
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

function hashTable(keys: Uint32Array, offsets: Uint32Array, pool: Buffer): Uint32Array {
  let size = 16;
  while (size < keys.length * 2) size *= 2;
  const table = new Uint32Array(size);
  keys.forEach((key, i) => {
    let slot = fnv1a(pool, offsets[key] ?? 0, offsets[key + 1] ?? 0) & (size - 1);
    while (table[slot] !== 0) slot = (slot + 1) & (size - 1);
    table[slot] = i + 1;
  });
  return table;
}

/** Lays the tables out in one buffer, with the hash tables and the trailer. */
export function encodeCompactIndex(t: CompactTables): Buffer {
  const nameHash = hashTable(t.names.keys, t.offsets, t.pool);
  const providedHash = hashTable(t.provided.keys, t.offsets, t.pool);
  const sections: Uint8Array[] = [
    new Uint8Array(t.offsets.buffer, t.offsets.byteOffset, t.offsets.byteLength),
    new Uint8Array(t.records.buffer, t.records.byteOffset, t.records.byteLength),
    new Uint8Array(t.sizes.buffer, t.sizes.byteOffset, t.sizes.byteLength),
    t.sha256,
    ...[t.names, t.provided].flatMap((g) =>
      [g.keys, g.starts, g.entries].map(
        (a) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength),
      ),
    ),
    new Uint8Array(nameHash.buffer),
    new Uint8Array(providedHash.buffer),
    t.pool,
  ];
  const total = sections.reduce((n, s) => align8(n + s.byteLength), align8(headerBytes)) + 8;
  const out = Buffer.alloc(total);
  magic.copy(out, 0);
  const header = [
    compactFormatVersion,
    t.offsets.length - 1,
    t.records.length / fieldCount,
    t.names.keys.length,
    t.names.entries.length,
    t.provided.keys.length,
    t.provided.entries.length,
    nameHash.length,
    providedHash.length,
    t.pool.length,
    t.sha256.length,
    os.endianness() === 'LE' ? 1 : 2,
  ];
  header.forEach((v, i) => out.writeUInt32LE(v, magic.length + i * 4));
  out.write(t.sourceSha256, magic.length + headerWords * 4, 'hex');
  let at = align8(headerBytes);
  for (const s of sections) {
    out.set(s, at);
    at = align8(at + s.byteLength);
  }
  out.writeUInt32LE(crc32(out.subarray(0, total - 8)), total - 8);
  return out;
}

/** The checks of a compact index's header against the index it should come from. */
function headerProblem(head: Buffer, length: number, sourceSha256: string): string | undefined {
  if (length < headerBytes + 8 || !head.subarray(0, magic.length).equals(magic))
    return 'not a compact index';
  if (head.readUInt32LE(magic.length) !== compactFormatVersion) return 'another format version';
  if (head.readUInt32LE(magic.length + 11 * 4) !== (os.endianness() === 'LE' ? 1 : 2))
    return 'another byte order';
  if (head.toString('hex', magic.length + headerWords * 4, headerBytes) !== sourceSha256)
    return 'made from another index';
  return undefined;
}

/** Why a buffer is not a usable compact index, or undefined when it is. */
function problemOf(data: Buffer, sourceSha256: string): string | undefined {
  const problem = headerProblem(data, data.length, sourceSha256);
  if (problem) return problem;
  if (crc32(data.subarray(0, data.length - 8)) !== data.readUInt32LE(data.length - 8))
    return 'damaged (its checksum does not match)';
  return undefined;
}

/** Where each section starts, from the header's counts (the layout encodeCompactIndex writes). */
function sectionsOf(head: Buffer) {
  const h = (i: number): number => head.readUInt32LE(magic.length + (i + 1) * 4);
  const [strings, records, nNames, nNameEntries, nProvided, nProvidedEntries] = [
    0, 1, 2, 3, 4, 5,
  ].map(h) as [number, number, number, number, number, number];
  const [nameHashSize, providedHashSize, poolBytes, shaBytes] = [6, 7, 8, 9].map(h) as [
    number,
    number,
    number,
    number,
  ];
  let at = align8(headerBytes);
  const section = (bytes: number) => {
    const start = at;
    at = align8(at + bytes);
    return { start, bytes };
  };
  const words = (n: number) => section(n * 4);
  return {
    records,
    offsets: words(strings + 1),
    recs: words(records * fieldCount),
    sizes: section(records * 8),
    sha256: section(shaBytes),
    names: [words(nNames), words(nNames + 1), words(nNameEntries)] as const,
    provided: [words(nProvided), words(nProvided + 1), words(nProvidedEntries)] as const,
    nameHash: words(nameHashSize),
    providedHash: words(providedHashSize),
    pool: section(poolBytes),
    end: at,
  };
}

/**
 * Where the large sections' bytes come from: the buffer itself, or the file, read at an offset
 * when a lookup needs them (records, sizes, hashes and the string pool are ~80 % of a file).
 */
type ReadAt = (position: number, length: number) => Buffer;

const closeOnCollect = new FinalizationRegistry<number>((fd) => {
  try {
    closeSync(fd);
  } catch {
    // Already closed.
  }
});

/** A compact index that can be refused: damaged, another version, or from another index. */
export class CompactIndexError extends Error {}

/**
 * A decoded compact index: lookups by name and by provided name, and the fields of a record.
 * Opened from a file ({@link CompactIndex.open}), only the hash tables, the name groups and the
 * string offsets are held in memory; what a lookup reads of the rest is read from the file.
 */
export class CompactIndex {
  readonly size: number;
  /** Bytes held in memory (for the process's memo of indexes). */
  readonly bytes: number;
  private readonly offsets: Uint32Array;
  private readonly names: Groups;
  private readonly provided: Groups;
  private readonly nameHash: Uint32Array;
  private readonly providedHash: Uint32Array;
  private readonly at: ReturnType<typeof sectionsOf>;
  private readonly read: ReadAt;

  /** Checks and opens `data`, held in memory. */
  constructor(data: Buffer, sourceSha256: string);
  constructor(data: Buffer, sourceSha256: string, read: ReadAt, heldBytes: number);
  constructor(head: Buffer, sourceSha256: string, read?: ReadAt, heldBytes?: number) {
    if (!read) {
      const problem = problemOf(head, sourceSha256);
      if (problem) throw new CompactIndexError(problem);
    }
    const whole = head;
    this.read = read ?? ((position, length) => whole.subarray(position, position + length));
    const at = sectionsOf(head);
    this.at = at;
    const u32 = (sec: { start: number; bytes: number }): Uint32Array => {
      const bytes = this.read(sec.start, sec.bytes);
      // Typed arrays need 4-byte alignment: copied when the bytes are not aligned.
      const aligned = bytes.byteOffset % 4 === 0 ? bytes : Buffer.from(bytes);
      return new Uint32Array(aligned.buffer, aligned.byteOffset, sec.bytes / 4);
    };
    const groups = (g: typeof at.names): Groups => ({
      keys: u32(g[0]),
      starts: u32(g[1]),
      entries: u32(g[2]),
    });
    this.offsets = u32(at.offsets);
    this.names = groups(at.names);
    this.provided = groups(at.provided);
    this.nameHash = u32(at.nameHash);
    this.providedHash = u32(at.providedHash);
    this.size = at.records;
    this.bytes = heldBytes ?? head.length;
  }

  /**
   * Opens the compact file at `file`: its header checked against `sourceSha256` and its CRC-32
   * over the whole file (read in 1 MiB pieces, not kept), then only the lookup tables read.
   * The descriptor stays open while the index is used (a replaced or removed file keeps its
   * bytes for it) and is closed when the index is collected.
   */
  static open(file: string, sourceSha256: string): CompactIndex {
    const fd = openSync(file, 'r');
    try {
      const length = fstatSync(fd).size;
      const read: ReadAt = (position, len) => {
        const out = Buffer.allocUnsafe(len);
        let done = 0;
        while (done < len) {
          const n = readSync(fd, out, done, len - done, position + done);
          if (n === 0) throw new CompactIndexError('truncated while in use');
          done += n;
        }
        return out;
      };
      const head = read(0, Math.min(length, align8(headerBytes)));
      const problem =
        headerProblem(head, length, sourceSha256) ??
        (sectionsOf(head).end + 8 !== length ? 'damaged (its length does not match)' : undefined) ??
        checksumProblem(fd, length);
      if (problem) throw new CompactIndexError(problem);
      const at = sectionsOf(head);
      const held =
        at.offsets.bytes +
        at.names.reduce((n, g) => n + g.bytes, 0) +
        at.provided.reduce((n, g) => n + g.bytes, 0) +
        at.nameHash.bytes +
        at.providedHash.bytes;
      const index = new CompactIndex(head, sourceSha256, read, held);
      closeOnCollect.register(index, fd);
      return index;
    } catch (error) {
      closeSync(fd);
      throw error;
    }
  }

  /** String `id` of the pool, decoded as UTF-8 (the index's encoding). */
  string(id: number): string {
    const start = this.offsets[id] ?? 0;
    const end = this.offsets[id + 1] ?? start;
    return this.read(this.at.pool.start + start, end - start).toString('utf8');
  }

  field(record: number, f: Field): number {
    if (record < 0 || record >= this.size) return none;
    return this.read(this.at.recs.start + (record * fieldCount + f) * 4, 4).readUInt32LE(0);
  }

  /** Every field of a record at once: one read. */
  fields(record: number): Uint32Array {
    const bytes = Buffer.from(
      this.read(this.at.recs.start + record * fieldCount * 4, fieldCount * 4),
    );
    return new Uint32Array(bytes.buffer, bytes.byteOffset, fieldCount);
  }

  text(record: number, f: Field): string | undefined {
    const id = this.field(record, f);
    return id === none ? undefined : this.string(id);
  }

  multiArch(record: number): MultiArch {
    return multiArchCodes[this.field(record, Field.multiArch)] ?? 'no';
  }

  sizeOf(record: number): number {
    if (record < 0 || record >= this.size) return 0;
    return this.read(this.at.sizes.start + record * 8, 8).readDoubleLE(0);
  }

  sha256Of(record: number): string {
    return this.read(this.at.sha256.start + record * 32, 32).toString('hex');
  }

  private find(groups: Groups, table: Uint32Array, key: string): Uint32Array {
    const offsets = this.offsets;
    const wanted = Buffer.from(key, 'utf8');
    const mask = table.length - 1;
    let slot = fnv1a(wanted, 0, wanted.length) & mask;
    for (;;) {
      const entry = table[slot] ?? 0;
      if (entry === 0) return new Uint32Array(0);
      const id = groups.keys[entry - 1] ?? none;
      const start = offsets[id] ?? 0;
      const end = offsets[id + 1] ?? 0;
      if (
        end - start === wanted.length &&
        this.read(this.at.pool.start + start, end - start).equals(wanted)
      )
        return groups.entries.subarray(groups.starts[entry - 1], groups.starts[entry]);
      slot = (slot + 1) & mask;
    }
  }

  /** Record ids of package `name`, in index order. */
  named(name: string): Uint32Array {
    return this.find(this.names, this.nameHash, name);
  }

  /** Pairs (record id, position in its Provides) of the packages providing `name`, in index order. */
  providing(name: string): Uint32Array {
    return this.find(this.provided, this.providedHash, name);
  }
}
