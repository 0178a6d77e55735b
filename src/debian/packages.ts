import { parseDependencies, type Dependency, type Relation } from './relations.ts';

/** One binary package as a Packages index describes it. */
export interface PackageRecord {
  name: string;
  version: string;
  /** The package's architecture: a Debian arch or `all`. */
  arch: string;
  multiArch: 'same' | 'foreign' | 'allowed' | 'no';
  source: string;
  sourceVersion: string;
  /** Raw Pre-Depends and Depends fields; parsed on demand by {@link dependenciesOf}. */
  preDependsField: string | undefined;
  dependsField: string | undefined;
  provides: Relation[];
  /** Path under the mirror root, e.g. `pool/main/b/base-files/base-files_12.4_amd64.deb`. */
  filename: string;
  size: number;
  sha256: string;
  /** Which suite's index listed it, and that suite's mirror root URL. */
  suite: string;
  mirror: string;
  /** The index it came from, for error messages. */
  indexName: string;
}

/** The fields kept from each paragraph; a main index has ~65,000 paragraphs, so parse only these. */
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

/**
 * Splits a Packages index into paragraphs of the wanted fields. A specialised, allocation-light
 * reader: the general deb822 parser takes seconds on a main index.
 */
function* paragraphs(text: string): Generator<Map<string, string>> {
  let pos = 0;
  let fields = new Map<string, string>();
  let last: string | undefined;
  while (pos <= text.length) {
    let end = text.indexOf('\n', pos);
    if (end === -1) end = text.length;
    const line = text.slice(pos, end);
    pos = end + 1;
    if (line === '' || line === '\r') {
      if (fields.size > 0) yield fields;
      fields = new Map();
      last = undefined;
      if (end === text.length) break;
      continue;
    }
    const first = line.charCodeAt(0);
    if (first === 32 || first === 9) {
      if (last !== undefined) fields.set(last, `${fields.get(last) ?? ''} ${line.trim()}`);
      continue;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = line.slice(0, colon).toLowerCase();
    if (wanted.has(name)) {
      fields.set(name, line.slice(colon + 1).trim());
      last = name;
    } else {
      last = undefined;
    }
  }
  if (fields.size > 0) yield fields;
}

/** `Source: name (version)` or `Source: name` or absent (then it is the package itself). */
function sourceOf(
  raw: string | undefined,
  name: string,
  version: string,
): { source: string; sourceVersion: string } {
  if (!raw) return { source: name, sourceVersion: version };
  const m = /^(\S+)(?:\s+\((\S+)\))?$/.exec(raw.trim());
  return { source: m?.[1] ?? name, sourceVersion: m?.[2] ?? version };
}

/** Parses a Packages index. Entries without a SHA256 or filename are refused: nothing unverified. */
export function parsePackages(
  text: string,
  origin: { suite: string; mirror: string; indexName: string },
): PackageRecord[] {
  const out: PackageRecord[] = [];
  for (const p of paragraphs(text)) {
    const name = p.get('package');
    const version = p.get('version');
    const arch = p.get('architecture');
    if (!name || !version || !arch) continue;
    const filename = p.get('filename');
    const sha256 = p.get('sha256');
    const size = Number(p.get('size'));
    const where = `${origin.indexName}: ${name} ${version}`;
    if (!filename || !sha256 || !/^[a-f0-9]{64}$/.test(sha256) || !Number.isSafeInteger(size)) {
      throw new Error(`${where}: entry lacks Filename, Size or SHA256`);
    }
    const ma = p.get('multi-arch');
    out.push({
      name,
      version,
      arch,
      multiArch: ma === 'same' || ma === 'foreign' || ma === 'allowed' ? ma : 'no',
      ...sourceOf(p.get('source'), name, version),
      preDependsField: p.get('pre-depends'),
      dependsField: p.get('depends'),
      provides: parseDependencies(p.get('provides'), where).flat(),
      filename,
      size,
      sha256,
      suite: origin.suite,
      mirror: origin.mirror,
      indexName: origin.indexName,
    });
  }
  return out;
}

const parsedDependencies = new WeakMap<PackageRecord, Dependency[]>();

/** Pre-Depends then Depends of a package, parsed once when the resolver first visits it. */
export function dependenciesOf(r: PackageRecord): Dependency[] {
  let deps = parsedDependencies.get(r);
  if (!deps) {
    const where = `${r.indexName}: ${r.name} ${r.version}`;
    deps = [
      ...parseDependencies(r.preDependsField, where),
      ...parseDependencies(r.dependsField, where),
    ];
    parsedDependencies.set(r, deps);
  }
  return deps;
}
