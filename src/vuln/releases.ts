/*
 * Debian's releases, by codename and number. The feed names releases by codename; OSV names them
 * `Debian:<number>`; an image says its codename in /etc/os-release or its version in
 * /etc/debian_version, and its packages' security versions carry `debNNuM`. A release not in this
 * table is refused (a typo or a hostile feed), so it has to grow when Debian names a new one.
 */

const numbered: [number, string][] = [
  [9, 'stretch'],
  [10, 'buster'],
  [11, 'bullseye'],
  [12, 'bookworm'],
  [13, 'trixie'],
  [14, 'forky'],
  [15, 'duke'],
];

const byNumber = new Map(numbered);
const known = new Set([...numbered.map(([, c]) => c), 'sid']);

export function isKnownRelease(codename: string): boolean {
  return known.has(codename);
}

/** `Debian:13` → `trixie`; `Debian:sid`/`Debian:unstable` → `sid`; otherwise undefined. */
export function codenameOfOsvEcosystem(ecosystem: string): string | undefined {
  const m = /^Debian:(\d+|sid|unstable)$/.exec(ecosystem);
  if (!m?.[1]) return undefined;
  if (m[1] === 'sid' || m[1] === 'unstable') return 'sid';
  return byNumber.get(Number(m[1]));
}

/** `13.2` (from /etc/debian_version) → `trixie`; `forky/sid` → `sid`. */
export function codenameOfDebianVersion(text: string): string | undefined {
  const value = text.trim();
  if (value.endsWith('/sid')) return 'sid';
  const m = /^(\d+)(\.|$)/.exec(value);
  return m?.[1] ? byNumber.get(Number(m[1])) : undefined;
}

/** The release a security or stable update's version names: `3.5.4-1~deb13u1` → `trixie`. */
export function codenameOfVersionSuffix(version: string): string | undefined {
  const m = /[~+]deb(\d+)u\d+/.exec(version);
  return m?.[1] ? byNumber.get(Number(m[1])) : undefined;
}
