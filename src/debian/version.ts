import { compareDebian, parseDebianVersion } from '../versioning/debian-compare.ts';

/*
 * Version comparison for the resolver, on top of src/versioning's dpkg ordering (one
 * implementation of deb-version(7) in kiln). Index data is already verified, so a version dpkg
 * would reject is still ordered, by its upstream part alone, rather than aborting a resolution.
 */

export type VersionOperator = '<<' | '<=' | '=' | '>=' | '>>';

function parse(v: string): { epoch: number; upstream: string; revision: string } {
  return parseDebianVersion(v) ?? { epoch: 0, upstream: v, revision: '' };
}

/** dpkg --compare-versions as a comparator: negative, zero or positive. */
export function compareDebianVersions(a: string, b: string): number {
  return compareDebian(parse(a), parse(b));
}

/** Whether `version` satisfies `op constraint`, as in a Depends field. */
export function satisfiesConstraint(
  version: string,
  op: VersionOperator,
  constraint: string,
): boolean {
  const c = compareDebianVersions(version, constraint);
  switch (op) {
    case '<<':
      return c < 0;
    case '<=':
      return c <= 0;
    case '=':
      return c === 0;
    case '>=':
      return c >= 0;
    case '>>':
      return c > 0;
  }
}

/** The upstream part of a Debian version (`1:3.11.2-6` → `3.11.2`). */
export function upstreamOf(v: string): string {
  return parse(v).upstream;
}
