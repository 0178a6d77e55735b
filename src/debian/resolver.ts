import { PermanentError } from '../errors.ts';
import type { PackageSet, Provider } from './package-set.ts';
import { dependenciesOf, type PackageRecord } from './packages.ts';
import { formatRelation, type Dependency, type Relation } from './relations.ts';
import { compareDebianVersions, satisfiesConstraint } from './version.ts';

/** What to resolve for one architecture. */
export interface ResolveRequest {
  arch: string;
  /** Every package available for the arch, from all suites, in the recipe's suite order. */
  available: PackageSet;
  /** Requested packages: `name` or `name=version` (a pin). */
  packages: string[];
  /**
   * Packages never installed. A dependency that names one is cut rather than satisfied by
   * another alternative (as distroless and apko do with maintainer-only packages); every cut
   * edge is reported so a reviewer sees what the image deliberately lacks.
   */
  exclude: string[];
}

/** A dependency deliberately left unsatisfied because the recipe excludes its target. */
export interface CutDependency {
  package: string;
  neededBy: string;
}

export interface Resolution {
  /** Selected packages, sorted by name. */
  packages: PackageRecord[];
  cut: CutDependency[];
}

/**
 * The packages of one arch, by name (highest version first) and by what they provide, looked up
 * only for the names the resolution visits.
 */
class Universe {
  private readonly names = new Map<string, PackageRecord[]>();
  private readonly provided = new Map<string, Provider[]>();

  constructor(
    private readonly available: PackageSet,
    private readonly arch: string,
  ) {}

  private fits = (r: PackageRecord): boolean => r.arch === this.arch || r.arch === 'all';

  byName(name: string): PackageRecord[] {
    let list = this.names.get(name);
    if (!list) {
      // Highest version first; a stable sort keeps the recipe's suite order between equal versions.
      list = this.available
        .named(name)
        .filter(this.fits)
        .sort((a, b) => compareDebianVersions(b.version, a.version));
      this.names.set(name, list);
    }
    return list;
  }

  providers(name: string): Provider[] {
    let list = this.provided.get(name);
    if (!list) {
      list = this.available.providing(name).filter((p) => this.fits(p.record));
      this.provided.set(name, list);
    }
    return list;
  }
}

/** Whether an arch qualifier allows `target` (Multi-Arch rules for a single-arch root). */
function qualifierAllows(rel: Relation, target: PackageRecord, arch: string): boolean {
  const q = rel.archQualifier;
  if (q === undefined || q === 'native' || q === arch) return true;
  if (q === 'any') return target.multiArch === 'allowed';
  return false;
}

function satisfiedBy(rel: Relation, r: PackageRecord, arch: string): boolean {
  if (r.name !== rel.name || !qualifierAllows(rel, r, arch)) return false;
  return (
    !rel.constraint || satisfiesConstraint(r.version, rel.constraint.op, rel.constraint.version)
  );
}

function providedBy(rel: Relation, provider: Provider): boolean {
  if (rel.archQualifier === 'any' && provider.record.multiArch !== 'allowed') return false;
  if (!rel.constraint) return true;
  // A versioned dependency is only satisfied by a versioned Provides (deb-control(5)).
  return (
    provider.version !== undefined &&
    satisfiesConstraint(provider.version, rel.constraint.op, rel.constraint.version)
  );
}

const describe = (r: PackageRecord): string => `${r.name} ${r.version} (${r.suite})`;

/**
 * Resolves Pre-Depends and Depends into a closed set: highest version across suites first,
 * alternatives in order, virtual packages through Provides. Greedy like apt's first pass, without
 * backtracking: a later constraint that the chosen version fails is a conflict error naming both.
 */
export function resolve(request: ResolveRequest): Resolution {
  const state: Closure = {
    arch: request.arch,
    u: new Universe(request.available, request.arch),
    excluded: new Set(request.exclude),
    selected: new Map(),
    cut: [],
    queue: [],
  };
  for (const spec of request.packages) select(state, requested(state, spec));
  closeDependencies(state);
  return resolutionOf(state);
}

/** The closure being built: what is chosen, what is still to walk, what an exclusion cut. */
interface Closure {
  arch: string;
  u: Universe;
  excluded: Set<string>;
  selected: Map<string, PackageRecord>;
  cut: CutDependency[];
  /** Chosen packages whose dependencies are not walked yet, in the order chosen. */
  queue: PackageRecord[];
}

function select(state: Closure, r: PackageRecord): void {
  if (state.selected.has(r.name)) return;
  state.selected.set(r.name, r);
  state.queue.push(r);
}

/** The record a requested `name` or `name=version` names: its highest version, or the pinned one. */
function requested({ u, arch, excluded }: Closure, spec: string): PackageRecord {
  const [name = '', pin] = spec.split('=', 2);
  if (excluded.has(name))
    throw new PermanentError(`package ${name} for ${arch} is both requested and excluded`);
  const candidates = u
    .byName(name)
    .filter((r) => pin === undefined || compareDebianVersions(r.version, pin) === 0);
  const chosen = candidates[0];
  if (!chosen) {
    const known = u
      .byName(name)
      .map((r) => r.version)
      .join(', ');
    throw new PermanentError(
      `requested package ${spec} is not available for ${arch}${known ? ` (available: ${known})` : u.providers(name).length > 0 ? ' (it is a virtual package: name a real one)' : ''}`,
    );
  }
  return chosen;
}

function satisfiedNow({ u, selected, arch }: Closure, dep: Dependency): boolean {
  return dep.some((rel) => {
    const s = selected.get(rel.name);
    if (s && satisfiedBy(rel, s, arch)) return true;
    return u
      .providers(rel.name)
      .some((p) => selected.get(p.record.name) === p.record && providedBy(rel, p));
  });
}

/** Walks the queue breadth first, choosing for every dependency not yet satisfied. */
function closeDependencies(state: Closure): void {
  const { u, arch, excluded, selected } = state;
  while (state.queue.length > 0) {
    const r = state.queue.shift();
    if (!r) break;
    for (const dep of dependenciesOf(r)) {
      if (satisfiedNow(state, dep)) continue;
      const cutBy = dep.find((rel) => excluded.has(rel.name));
      if (cutBy) {
        state.cut.push({ package: cutBy.name, neededBy: r.name });
        continue;
      }
      const choice = choose(dep, u, selected, excluded, arch);
      if (choice) {
        select(state, choice);
        continue;
      }
      throw unresolvable(state, r, dep);
    }
  }
}

function unresolvable({ arch, selected }: Closure, r: PackageRecord, dep: Dependency): Error {
  const wanted = dep.map(formatRelation).join(' | ');
  const clash = dep.map((rel) => selected.get(rel.name)).find((s) => s !== undefined);
  return new PermanentError(
    clash
      ? `unresolvable dependency for ${arch}: ${describe(r)} needs ${wanted}, but ${describe(clash)} is already chosen`
      : `missing dependency for ${arch}: ${describe(r)} needs ${wanted}, which no suite provides`,
  );
}

/** Packages by name; each cut dependency once, by package then by who needed it. */
function resolutionOf({ selected, cut }: Closure): Resolution {
  const packages = [...selected.values()].sort((a, b) =>
    a.name < b.name ? -1 : a.name > b.name ? 1 : 0,
  );
  const uniqueCut = [...new Map(cut.map((c) => [`${c.package}\0${c.neededBy}`, c])).values()].sort(
    (a, b) => a.package.localeCompare(b.package) || a.neededBy.localeCompare(b.neededBy),
  );
  return { packages, cut: uniqueCut };
}

/** The first alternative that can be installed: a real package (highest version), else a provider. */
function choose(
  dep: Dependency,
  u: Universe,
  selected: Map<string, PackageRecord>,
  excluded: Set<string>,
  arch: string,
): PackageRecord | undefined {
  for (const rel of dep) {
    if (selected.has(rel.name)) continue; // chosen at another version: it cannot be swapped out
    const real = u.byName(rel.name).find((r) => satisfiedBy(rel, r, arch));
    if (real) return real;
    const providers = u
      .providers(rel.name)
      .filter((p) => !excluded.has(p.record.name) && providedBy(rel, p))
      .filter((p) => !selected.has(p.record.name))
      .sort((a, b) =>
        a.record.name < b.record.name
          ? -1
          : a.record.name > b.record.name
            ? 1
            : compareDebianVersions(b.record.version, a.record.version),
      );
    // A virtual package with one provider is unambiguous; with several, apt also takes a
    // deterministic pick, here the first by name (the lockfile shows which).
    const provider = providers[0];
    if (provider) return provider.record;
  }
  return undefined;
}
