/*
 * "Loose" versions: what projects that do not follow semver publish — `v1.2`, `1.2.3.4`,
 * `2024.10.1`, `3.13.0rc2`. Any number of numeric components, then an optional prerelease label.
 */

export interface LooseVersion {
  /** Canonical text: lowercase, without a leading `v`. */
  text: string;
  /** The numeric components as written. */
  parts: string[];
  numbers: number[];
  /** Prerelease label and number, e.g. rc 2; undefined for a release. */
  pre?: { label: string; rank: number; n: number };
}

const preRanks: Record<string, number> = {
  dev: 0,
  nightly: 0,
  canary: 0,
  snapshot: 0,
  alpha: 1,
  a: 1,
  beta: 2,
  b: 2,
  pre: 3,
  preview: 3,
  next: 3,
  rc: 4,
  c: 4,
};

const shape = /^v?(\d{1,9}(?:\.\d{1,9})*)(?:[-.]?([a-z]+)[-.]?(\d{0,9}))?$/;

export function parseLoose(value: string): LooseVersion | undefined {
  const match = shape.exec(value.trim().toLowerCase());
  if (!match || match[1] === undefined) return undefined;
  const parts = match[1].split('.');
  const version: LooseVersion = {
    text: value.trim().toLowerCase().replace(/^v/, ''),
    parts,
    numbers: parts.map(Number),
  };
  const label = match[2];
  if (label !== undefined) {
    const rank = preRanks[label];
    if (rank === undefined) return undefined;
    version.pre = { label, rank, n: Number(match[3] || '0') };
  }
  return version;
}

export function compareLoose(a: LooseVersion, b: LooseVersion): number {
  const length = Math.max(a.numbers.length, b.numbers.length);
  for (let i = 0; i < length; i++) {
    const d = (a.numbers[i] ?? 0) - (b.numbers[i] ?? 0);
    if (d !== 0) return d;
  }
  if (!a.pre || !b.pre) return (a.pre ? -1 : 0) - (b.pre ? -1 : 0);
  return a.pre.rank - b.pre.rank || a.pre.n - b.pre.n;
}
