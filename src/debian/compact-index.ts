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
 */

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

/** Why a buffer is not a usable compact index, or undefined when it is. */
function problemOf(data: Buffer, sourceSha256: string): string | undefined {
  if (data.length < headerBytes + 8 || !data.subarray(0, magic.length).equals(magic))
    return 'not a compact index';
  if (data.readUInt32LE(magic.length) !== compactFormatVersion) return 'another format version';
  if (data.readUInt32LE(magic.length + 11 * 4) !== (os.endianness() === 'LE' ? 1 : 2))
    return 'another byte order';
  if (data.toString('hex', magic.length + headerWords * 4, headerBytes) !== sourceSha256)
    return 'made from another index';
  if (crc32(data.subarray(0, data.length - 8)) !== data.readUInt32LE(data.length - 8))
    return 'damaged (its checksum does not match)';
  return undefined;
}

/** A compact index that can be refused: damaged, another version, or from another index. */
export class CompactIndexError extends Error {}

/** A decoded compact index: lookups by name and by provided name, and the fields of a record. */
export class CompactIndex {
  readonly size: number;
  readonly bytes: number;
  private readonly t: CompactTables;
  private readonly nameHash: Uint32Array;
  private readonly providedHash: Uint32Array;

  /** Checks and opens `data` (its own copy when the typed arrays need it aligned). */
  constructor(data: Buffer, sourceSha256: string) {
    const problem = problemOf(data, sourceSha256);
    if (problem) throw new CompactIndexError(problem);
    let buf = data;
    if (data.byteOffset % 8 !== 0) {
      buf = Buffer.alloc(data.length);
      data.copy(buf);
    }
    const h = (i: number): number => buf.readUInt32LE(magic.length + (i + 1) * 4);
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
    const take = <T>(make: (offset: number) => T, bytes: number): T => {
      const value = make(buf.byteOffset + at);
      at = align8(at + bytes);
      return value;
    };
    const u32 = (n: number): Uint32Array => take((o) => new Uint32Array(buf.buffer, o, n), n * 4);
    const offsets = u32(strings + 1);
    const recs = u32(records * fieldCount);
    const sizes = take((o) => new Float64Array(buf.buffer, o, records), records * 8);
    const sha256 = take((o) => Buffer.from(buf.buffer, o, shaBytes), shaBytes);
    const names = { keys: u32(nNames), starts: u32(nNames + 1), entries: u32(nNameEntries) };
    const provided = {
      keys: u32(nProvided),
      starts: u32(nProvided + 1),
      entries: u32(nProvidedEntries),
    };
    this.nameHash = u32(nameHashSize);
    this.providedHash = u32(providedHashSize);
    const pool = take((o) => Buffer.from(buf.buffer, o, poolBytes), poolBytes);
    this.t = { sourceSha256, offsets, pool, records: recs, sizes, sha256, names, provided };
    this.size = records;
    this.bytes = buf.length;
  }

  /** String `id` of the pool, decoded as UTF-8 (the index's encoding). */
  string(id: number): string {
    return this.t.pool.toString('utf8', this.t.offsets[id], this.t.offsets[id + 1]);
  }

  field(record: number, f: Field): number {
    return this.t.records[record * fieldCount + f] ?? none;
  }

  text(record: number, f: Field): string | undefined {
    const id = this.field(record, f);
    return id === none ? undefined : this.string(id);
  }

  multiArch(record: number): MultiArch {
    return multiArchCodes[this.field(record, Field.multiArch)] ?? 'no';
  }

  sizeOf(record: number): number {
    return this.t.sizes[record] ?? 0;
  }

  sha256Of(record: number): string {
    return this.t.sha256.toString('hex', record * 32, record * 32 + 32);
  }

  private find(groups: Groups, table: Uint32Array, key: string): Uint32Array {
    const { pool, offsets } = this.t;
    const wanted = Buffer.from(key, 'utf8');
    const mask = table.length - 1;
    let slot = fnv1a(wanted, 0, wanted.length) & mask;
    for (;;) {
      const entry = table[slot] ?? 0;
      if (entry === 0) return new Uint32Array(0);
      const id = groups.keys[entry - 1] ?? none;
      const start = offsets[id] ?? 0;
      const end = offsets[id + 1] ?? 0;
      if (end - start === wanted.length && pool.compare(wanted, 0, wanted.length, start, end) === 0)
        return groups.entries.subarray(groups.starts[entry - 1], groups.starts[entry]);
      slot = (slot + 1) & mask;
    }
  }

  /** Record ids of package `name`, in index order. */
  named(name: string): Uint32Array {
    return this.find(this.t.names, this.nameHash, name);
  }

  /** Pairs (record id, position in its Provides) of the packages providing `name`, in index order. */
  providing(name: string): Uint32Array {
    return this.find(this.t.provided, this.providedHash, name);
  }
}
