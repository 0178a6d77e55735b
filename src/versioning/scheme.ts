import semver from 'semver';
import { compareDebian, parseDebianVersion } from './debian-compare.ts';
import { compareLoose, parseLoose } from './loose.ts';

export type SchemeId = 'semver' | 'loose' | 'debian';

/** How one family of version strings is recognised, normalised and ordered. */
export interface VersionScheme {
  readonly id: SchemeId;
  /** The canonical form of a version, or undefined if the string is not one in this scheme. */
  normalize(value: string): string | undefined;
  /** Orders two normalised versions: negative, zero or positive. */
  compare(a: string, b: string): number;
  isPrerelease(version: string): boolean;
  /** Leading numeric release components (`3.12.7` → [3, 12, 7]): floating tags and ranges use them. */
  components(version: string): number[];
  /** The component strings as written (`2024.01.5` → [`2024`, `01`, `5`]), for tags. */
  componentText(version: string): string[];
  /**
   * A semver stand-in used to test stream ranges: the first three components plus a prerelease
   * marker, so `1.2.3.4` and `2:1.2-3` can be placed in a semver range.
   */
  rangeProxy(version: string): string;
  /**
   * A comparator that parses each version once and remembers it, for sorting many versions:
   * the memo lives as long as the returned function.
   */
  sorter(): (a: string, b: string) => number;
}

function memoSorter<P>(
  parse: (v: string) => P | undefined,
  cmp: (a: P, b: P) => number,
  scheme: string,
): () => (a: string, b: string) => number {
  return () => {
    const memo = new Map<string, P>();
    const get = (v: string): P => {
      let p = memo.get(v);
      if (p === undefined) {
        p = parse(v);
        if (p === undefined)
          throw new Error(`comparing ${scheme} versions: ${JSON.stringify(v)} is not valid`);
        memo.set(v, p);
      }
      return p;
    };
    return (a, b) => cmp(get(a), get(b));
  };
}

function proxyOf(numbers: number[], prerelease: boolean): string {
  const [a = 0, b = 0, c = 0] = numbers;
  return `${a}.${b}.${c}${prerelease ? '-0' : ''}`;
}

const semverScheme: VersionScheme = {
  id: 'semver',
  normalize: (value) => semver.valid(value) ?? undefined,
  compare: (a, b) => semver.compare(a, b),
  isPrerelease: (v) => semver.prerelease(v) !== null,
  components: (v) => {
    const p = semver.parse(v);
    return p ? [p.major, p.minor, p.patch] : [];
  },
  componentText: (v) => semverScheme.components(v).map(String),
  rangeProxy: (v) => v,
  sorter: memoSorter(
    (v) => semver.parse(v) ?? undefined,
    (a, b) => a.compare(b),
    'semver',
  ),
};

const looseScheme: VersionScheme = {
  id: 'loose',
  normalize: (value) => parseLoose(value)?.text,
  compare: (a, b) => {
    const pa = parseLoose(a);
    const pb = parseLoose(b);
    if (!pa || !pb)
      throw new Error(
        `comparing loose versions ${JSON.stringify(a)} and ${JSON.stringify(b)}: not valid`,
      );
    return compareLoose(pa, pb);
  },
  isPrerelease: (v) => parseLoose(v)?.pre !== undefined,
  components: (v) => parseLoose(v)?.numbers ?? [],
  componentText: (v) => parseLoose(v)?.parts ?? [],
  rangeProxy: (v) => {
    const p = parseLoose(v);
    return proxyOf(p?.numbers ?? [], p?.pre !== undefined);
  },
  sorter: memoSorter(parseLoose, compareLoose, 'loose'),
};

function debianNumbers(version: string): string[] {
  const parsed = parseDebianVersion(version);
  const lead = parsed ? /^\d+(\.\d+)*/.exec(parsed.upstream) : null;
  return lead ? lead[0].split('.') : [];
}

const debianScheme: VersionScheme = {
  id: 'debian',
  normalize: (value) => (parseDebianVersion(value) ? value : undefined),
  compare: (a, b) => {
    const pa = parseDebianVersion(a);
    const pb = parseDebianVersion(b);
    if (!pa || !pb)
      throw new Error(
        `comparing Debian versions ${JSON.stringify(a)} and ${JSON.stringify(b)}: not valid`,
      );
    return compareDebian(pa, pb);
  },
  // A `~` in the upstream part sorts before the release it leads to: Debian's prerelease marker.
  isPrerelease: (v) => parseDebianVersion(v)?.upstream.includes('~') ?? false,
  components: (v) => debianNumbers(v).map(Number),
  componentText: debianNumbers,
  rangeProxy: (v) => proxyOf(debianNumbers(v).map(Number), debianScheme.isPrerelease(v)),
  sorter: memoSorter(parseDebianVersion, compareDebian, 'Debian'),
};

/** The version schemes, keyed by the recipe's `versions.scheme`. */
export const schemes: ReadonlyMap<SchemeId, VersionScheme> = new Map([
  ['semver', semverScheme],
  ['loose', looseScheme],
  ['debian', debianScheme],
]);

export function schemeOf(id: SchemeId): VersionScheme {
  const scheme = schemes.get(id);
  if (!scheme) throw new Error(`unknown version scheme ${JSON.stringify(id)}`);
  return scheme;
}

/** Compares two versions in a scheme; both must be valid in it. */
export function compare(scheme: SchemeId, a: string, b: string): number {
  return schemeOf(scheme).compare(a, b);
}

/** True if the string is a version in the scheme. */
export function valid(scheme: SchemeId, value: string): boolean {
  return schemeOf(scheme).normalize(value) !== undefined;
}
