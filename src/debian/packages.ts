import { parseDependencies, type Dependency, type Relation } from './relations.ts';

/*
 * A package as resolution and the lockfile see it. Made on demand from a compact index
 * (compact-index.ts, package-set.ts): only the packages a resolution visits become objects.
 */

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
