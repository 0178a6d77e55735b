import { Field, multiArchCodes, none, type CompactIndex } from './compact-index.ts';
import type { PackageRecord } from './packages.ts';
import { parseDependencies } from './relations.ts';

/** Where one compact index came from: what each of its records says about its origin. */
export interface IndexOrigin {
  suite: string;
  mirror: string;
  /** `<suite>/<name as listed in InRelease>`, for error messages. */
  indexName: string;
}

/** A package that provides a name, and the version it provides it at (`Provides: x (= 1)`). */
export interface Provider {
  record: PackageRecord;
  version: string | undefined;
}

/**
 * The packages available for one arch, read from compact indexes on demand: only the names a
 * resolution visits become {@link PackageRecord}s. A version listed by two indexes of the same
 * suite (binary-all and binary-<arch>) counts once, the first listing winning, as before.
 * Within one set a record is always the same object, so identity comparisons hold.
 */
export class PackageSet implements Iterable<PackageRecord> {
  private readonly records = new Map<number, PackageRecord>();
  private readonly byName = new Map<string, PackageRecord[]>();

  constructor(private readonly indexes: readonly { index: CompactIndex; origin: IndexOrigin }[]) {}

  /** Every version of `name`, in index order (suite order of the recipe first). */
  named(name: string): PackageRecord[] {
    let list = this.byName.get(name);
    if (list) return list;
    list = [];
    const seen = new Set<string>();
    this.indexes.forEach(({ index }, i) => {
      for (const id of index.named(name)) {
        const r = this.record(i, id);
        const key = `${r.suite}\0${r.version}\0${r.arch}`;
        if (seen.has(key)) continue;
        seen.add(key);
        list.push(r);
      }
    });
    this.byName.set(name, list);
    return list;
  }

  /** Every package providing `name`, in index order, with the version each provides. */
  providing(name: string): Provider[] {
    const out: Provider[] = [];
    this.indexes.forEach(({ index }, i) => {
      const pairs = index.providing(name);
      for (let p = 0; p < pairs.length; p += 2) {
        const r = this.record(i, pairs[p] ?? 0);
        // A duplicate listing of a version already seen is not a second provider.
        if (!this.named(r.name).includes(r)) continue;
        const rel = r.provides[pairs[p + 1] ?? 0];
        out.push({
          record: r,
          version: rel?.constraint?.op === '=' ? rel.constraint.version : undefined,
        });
      }
    });
    return out;
  }

  /** Every package once, in index order; records are made as they go and not kept. */
  *[Symbol.iterator](): Iterator<PackageRecord> {
    const seen = new Set<string>();
    for (const { index, origin } of this.indexes) {
      for (let id = 0; id < index.size; id++) {
        const r = recordOf(index, id, origin);
        const key = `${r.suite}\0${r.name}\0${r.version}\0${r.arch}`;
        if (seen.has(key)) continue;
        seen.add(key);
        yield r;
      }
    }
  }

  private record(i: number, id: number): PackageRecord {
    // Record ids are below 2^26 (a main index has ~70,000); indexes per set are few.
    const key = i * 2 ** 26 + id;
    let r = this.records.get(key);
    const entry = this.indexes[i];
    if (!r && entry) {
      r = recordOf(entry.index, id, entry.origin);
      this.records.set(key, r);
    }
    if (!r) throw new Error(`package set: no index ${i}`);
    return r;
  }
}

/** One record of a compact index as the resolver and the lockfile read it. */
export function recordOf(index: CompactIndex, id: number, origin: IndexOrigin): PackageRecord {
  // One read for the record's string ids, then one per string it has.
  const ids = index.fields(id);
  const text = (f: Field): string | undefined => {
    const sid = ids[f] ?? none;
    return sid === none ? undefined : index.string(sid);
  };
  const name = text(Field.name) ?? '';
  const version = text(Field.version) ?? '';
  return {
    name,
    version,
    arch: text(Field.arch) ?? '',
    multiArch: multiArchCodes[ids[Field.multiArch] ?? 0] ?? 'no',
    source: text(Field.source) ?? name,
    sourceVersion: text(Field.sourceVersion) ?? version,
    preDependsField: text(Field.preDepends),
    dependsField: text(Field.depends),
    provides: parseDependencies(
      text(Field.provides),
      `${origin.indexName}: ${name} ${version}`,
    ).flat(),
    filename: text(Field.filename) ?? '',
    size: index.sizeOf(id),
    sha256: index.sha256Of(id),
    suite: origin.suite,
    mirror: origin.mirror,
    indexName: origin.indexName,
  };
}
