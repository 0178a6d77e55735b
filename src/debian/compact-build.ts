import { PermanentError } from '../errors.ts';
import { encodeCompactIndex, multiArchCodes, none, type CompactTables } from './compact-index.ts';
import { parseDependencies } from './relations.ts';

/*
 * Packages index text → the compact form (compact-index.ts), in one pass over the bytes: a main
 * index is ~55 MB of text, and decoding it to a JavaScript string (two bytes a character once
 * one maintainer's name is not Latin-1) and then to 65,000 objects is where a resolution's
 * memory went. Only the fields the resolver and the lockfile read are kept, each value as its
 * bytes, every distinct value once.
 */

/** The fields kept, by lowercased name; every other field of a paragraph is skipped. */
const wanted = new Set([
  'package',
  'version',
  'architecture',
  'multi-arch',
  'source',
  'pre-depends',
  'depends',
  'provides',
  'filename',
  'size',
  'sha256',
]);

const isSpace = (c: number): boolean =>
  c === 32 || c === 9 || c === 13 || c === 10 || c === 11 || c === 12;

/** ASCII-trimmed `[start, end)` of `text` as a Latin-1 string: one byte, one character. */
function trimmed(text: Buffer, start: number, end: number): string {
  while (start < end && isSpace(text[start] ?? 0)) start++;
  while (end > start && isSpace(text[end - 1] ?? 0)) end--;
  return text.toString('latin1', start, end);
}

/**
 * Calls `each` with the wanted fields of every paragraph, values as Latin-1 strings of their
 * bytes (continuation lines joined with one space), as the text reader did.
 */
function eachParagraph(text: Buffer, each: (fields: Map<string, string>) => void): void {
  let fields = new Map<string, string>();
  let last: string | undefined;
  let pos = 0;
  const length = text.length;
  while (pos <= length) {
    let end = text.indexOf(10, pos);
    if (end === -1) end = length;
    const lineEnd = end;
    const start = pos;
    pos = end + 1;
    if (lineEnd === start || (lineEnd === start + 1 && text[start] === 13)) {
      if (fields.size > 0) each(fields);
      fields = new Map();
      last = undefined;
      if (end === length) break;
      continue;
    }
    const first = text[start];
    if (first === 32 || first === 9) {
      if (last !== undefined)
        fields.set(last, `${fields.get(last) ?? ''} ${trimmed(text, start, lineEnd)}`);
      continue;
    }
    const colon = text.indexOf(58, start);
    if (colon <= start || colon >= lineEnd) continue;
    const name = text.toString('latin1', start, colon).toLowerCase();
    if (wanted.has(name)) {
      fields.set(name, trimmed(text, colon + 1, lineEnd));
      last = name;
    } else {
      last = undefined;
    }
  }
  if (fields.size > 0) each(fields);
}

/** `Source: name (version)` or `Source: name` or absent (then it is the package itself). */
function sourceOf(raw: string | undefined, name: string, version: string): [string, string] {
  if (!raw) return [name, version];
  const m = /^(\S+)(?:\s+\((\S+)\))?$/.exec(raw.trim());
  return [m?.[1] ?? name, m?.[2] ?? version];
}

const multiArchNames: readonly string[] = multiArchCodes;

/** Growable typed storage for one column. */
class Column {
  data: Uint32Array;
  length = 0;
  constructor(capacity = 1024) {
    this.data = new Uint32Array(capacity);
  }
  push(...values: number[]): void {
    if (this.length + values.length > this.data.length) {
      const grown = new Uint32Array(Math.max(this.data.length * 2, this.length + values.length));
      grown.set(this.data);
      this.data = grown;
    }
    for (const v of values) this.data[this.length++] = v;
  }
  view(): Uint32Array {
    return this.data.subarray(0, this.length);
  }
}

/** Every distinct string once, in first-seen order; `offsets` are their end byte offsets. */
class StringPool {
  private readonly ids = new Map<string, number>();
  readonly strings: string[] = [];
  readonly offsets = new Column();
  private bytes = 0;
  constructor() {
    this.offsets.push(0);
  }
  intern(s: string): number {
    let id = this.ids.get(s);
    if (id === undefined) {
      id = this.strings.length;
      this.ids.set(s, id);
      this.strings.push(s);
      this.bytes += s.length;
      this.offsets.push(this.bytes);
    }
    return id;
  }
  opt(s: string | undefined): number {
    return s === undefined ? none : this.intern(s);
  }
}

/** The columns of the index being built, one record per kept paragraph. */
interface IndexColumns {
  pool: StringPool;
  records: Column;
  sizes: number[];
  shas: string[];
  byName: Map<number, number[]>;
  byProvided: Map<number, number[]>;
}

/** A paragraph's identity and verified download fields; undefined for one without a name. */
interface CheckedEntry {
  name: string;
  version: string;
  arch: string;
  filename: string;
  sha256: string;
  size: number;
  where: string;
}

function checkedEntry(p: Map<string, string>, indexName: string): CheckedEntry | undefined {
  const name = p.get('package');
  const version = p.get('version');
  const arch = p.get('architecture');
  if (!name || !version || !arch) return undefined;
  const filename = p.get('filename');
  const sha256 = p.get('sha256');
  const sizeText = p.get('size') ?? '';
  const size = /^\d+$/.test(sizeText) ? Number(sizeText) : NaN;
  const where = `${indexName}: ${name} ${version}`;
  if (!filename || !sha256 || !/^[a-f0-9]{64}$/.test(sha256) || !Number.isSafeInteger(size))
    throw new PermanentError(`${where}: entry lacks Filename, Size or SHA256`);
  return { name, version, arch, filename, sha256, size, where };
}

// The order of intern calls fixes the string ids, hence the index's bytes: keep it.
function addRecord(c: IndexColumns, p: Map<string, string>, e: CheckedEntry): void {
  const { pool } = c;
  const provides = p.get('provides');
  const [source, sourceVersion] = sourceOf(p.get('source'), e.name, e.version);
  const id = c.sizes.length;
  const nameId = pool.intern(e.name);
  c.records.push(
    nameId,
    pool.intern(e.version),
    pool.intern(e.arch),
    Math.max(0, multiArchNames.indexOf(p.get('multi-arch') ?? 'no')),
    pool.intern(source),
    pool.intern(sourceVersion),
    pool.opt(p.get('pre-depends')),
    pool.opt(p.get('depends')),
    pool.opt(provides),
    pool.intern(e.filename),
  );
  c.sizes.push(e.size);
  c.shas.push(e.sha256);
  const list = c.byName.get(nameId);
  if (list) list.push(id);
  else c.byName.set(nameId, [id]);
  parseDependencies(provides, e.where)
    .flat()
    .forEach((rel, k) => {
      const provided = pool.intern(rel.name);
      const entries = c.byProvided.get(provided);
      if (entries) entries.push(id, k);
      else c.byProvided.set(provided, [id, k]);
    });
}

/**
 * Parses a Packages index (its uncompressed bytes) into the compact form, tagged with the
 * sha256 of the file it came from. Entries without a Filename, Size or SHA256 are refused:
 * nothing unverified.
 */
export function buildCompactIndex(text: Buffer, sourceSha256: string, indexName: string): Buffer {
  const c: IndexColumns = {
    pool: new StringPool(),
    records: new Column(65_536 * 11),
    sizes: [],
    shas: [],
    byName: new Map(),
    byProvided: new Map(),
  };
  eachParagraph(text, (p) => {
    const entry = checkedEntry(p, indexName);
    if (entry) addRecord(c, p, entry);
  });
  const tables: CompactTables = {
    sourceSha256,
    offsets: c.pool.offsets.view(),
    pool: Buffer.from(c.pool.strings.join(''), 'latin1'),
    records: c.records.view(),
    sizes: Float64Array.from(c.sizes),
    sha256: Buffer.from(c.shas.join(''), 'hex'),
    names: groups(c.byName),
    provided: groups(c.byProvided),
  };
  return encodeCompactIndex(tables);
}

/** A map of string id → record entries as parallel arrays: keys, start offsets, entries. */
function groups(map: Map<number, number[]>): CompactTables['names'] {
  const keys = new Uint32Array(map.size);
  const starts = new Uint32Array(map.size + 1);
  let total = 0;
  for (const list of map.values()) total += list.length;
  const entries = new Uint32Array(total);
  let i = 0;
  let at = 0;
  for (const [key, list] of map) {
    keys[i] = key;
    starts[i] = at;
    entries.set(list, at);
    at += list.length;
    i++;
  }
  starts[i] = at;
  return { keys, starts, entries };
}
