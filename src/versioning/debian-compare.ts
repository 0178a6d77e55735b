/*
 * dpkg's version ordering (deb-version(7)), written here because no maintained npm package
 * implements it with epochs, `~` and revisions exactly as dpkg does (see README.md).
 */

export interface DebianVersion {
  epoch: number;
  upstream: string;
  revision: string;
}

const upstreamShape = /^[0-9][A-Za-z0-9.+~-]*$/;
const revisionShape = /^[A-Za-z0-9.+~]+$/;

/** Splits `[epoch:]upstream[-revision]`; undefined if it is not a valid Debian version. */
export function parseDebianVersion(value: string): DebianVersion | undefined {
  let rest = value;
  let epoch = 0;
  const colon = rest.indexOf(':');
  if (colon !== -1) {
    const e = rest.slice(0, colon);
    if (!/^\d+$/.test(e) || e.length > 9) return undefined;
    epoch = Number(e);
    rest = rest.slice(colon + 1);
  }
  let revision = '';
  const dash = rest.lastIndexOf('-');
  if (dash !== -1) {
    revision = rest.slice(dash + 1);
    rest = rest.slice(0, dash);
    if (!revisionShape.test(revision)) return undefined;
  }
  if (!upstreamShape.test(rest)) return undefined;
  if (revision === '' && rest.includes('-')) return undefined;
  return { epoch, upstream: rest, revision };
}

const isDigit = (c: string | undefined): boolean => c !== undefined && c >= '0' && c <= '9';
const isLetter = (c: string): boolean => (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');

/** dpkg's character weight: `~` sorts before everything, even the end; letters before symbols. */
function order(c: string | undefined): number {
  if (c === undefined || isDigit(c)) return 0;
  if (isLetter(c)) return c.charCodeAt(0);
  if (c === '~') return -1;
  return c.charCodeAt(0) + 256;
}

/** dpkg's verrevcmp: alternating non-digit and digit runs. */
export function verrevcmp(a: string, b: string): number {
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    let firstDiff = 0;
    while ((i < a.length && !isDigit(a[i])) || (j < b.length && !isDigit(b[j]))) {
      const ac = order(a[i]);
      const bc = order(b[j]);
      if (ac !== bc) return ac - bc;
      i++;
      j++;
    }
    while (a[i] === '0') i++;
    while (b[j] === '0') j++;
    while (isDigit(a[i]) && isDigit(b[j])) {
      if (firstDiff === 0) firstDiff = a.charCodeAt(i) - b.charCodeAt(j);
      i++;
      j++;
    }
    if (isDigit(a[i])) return 1;
    if (isDigit(b[j])) return -1;
    if (firstDiff !== 0) return firstDiff;
  }
  return 0;
}

/** Compares two parsed Debian versions: epoch, then upstream, then revision. */
export function compareDebian(a: DebianVersion, b: DebianVersion): number {
  if (a.epoch !== b.epoch) return a.epoch - b.epoch;
  return verrevcmp(a.upstream, b.upstream) || verrevcmp(a.revision, b.revision);
}
