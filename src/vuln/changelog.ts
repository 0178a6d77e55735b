import { gunzipSync } from 'node:zlib';
import { compareDebianVersions } from '../debian/version.ts';
import { readDeb, type DebContents } from '../debian/deb.ts';
import { parseDebianVersion } from '../versioning/debian-compare.ts';

/*
 * What a nano update fixed: the entries of a package's Debian changelog between the version an
 * image had and the one it has now, and the CVE ids they name. Images drop /usr/share/doc, but the
 * .deb the build downloaded still holds `changelog.Debian.gz`.
 */

/** One entry: `openssl (3.5.4-1~deb13u2) trixie-security; urgency=high` and its text. */
export interface ChangelogEntry {
  source: string;
  version: string;
  distributions: string;
  urgency: string | undefined;
  /** The change lines, without the header and the ` -- Maintainer  date` trailer. */
  text: string;
}

/** The most a changelog may inflate to: the largest Debian changelogs are a few MiB. */
const maxChangelogBytes = 32 * 1024 * 1024;

const header = /^(\S+) \(([^()\s]+)\) ([^;]+);(.*)$/;

/** Parses a Debian changelog (deb-changelog(5)); lines before the first header are ignored. */
export function parseChangelog(text: string): ChangelogEntry[] {
  const out: ChangelogEntry[] = [];
  let current: ChangelogEntry | undefined;
  let lines: string[] = [];
  const close = (): void => {
    if (current) out.push({ ...current, text: lines.join('\n').trim() });
    current = undefined;
    lines = [];
  };
  for (const line of text.split('\n')) {
    const m = header.exec(line);
    if (m?.[1] && m[2] && m[3] && parseDebianVersion(m[2])) {
      close();
      current = {
        source: m[1],
        version: m[2],
        distributions: m[3].trim(),
        urgency: /urgency=(\S+)/.exec(m[4] ?? '')?.[1],
        text: '',
      };
      continue;
    }
    if (!current) continue;
    if (line.startsWith(' -- ')) {
      close();
      continue;
    }
    lines.push(line);
  }
  close();
  return out;
}

/** Entries newer than `from` and up to `to` (dpkg ordering), newest first as in the file. */
export function entriesBetween(
  entries: ChangelogEntry[],
  from: string,
  to: string,
): ChangelogEntry[] {
  return entries.filter(
    (e) => compareDebianVersions(e.version, from) > 0 && compareDebianVersions(e.version, to) <= 0,
  );
}

/** The CVE ids a text names, each once, in order. */
export function cveIdsIn(text: string): string[] {
  return [...new Set(text.match(/\bCVE-\d{4}-\d{4,}\b/g) ?? [])];
}

/** The changelog inside a .deb's data: `changelog.Debian.gz` (or a native package's `changelog.gz`). */
export function changelogOf(contents: DebContents, pkg: string): string | undefined {
  const doc = `usr/share/doc/${pkg}`;
  for (const name of [`${doc}/changelog.Debian.gz`, `${doc}/changelog.gz`]) {
    const entry = contents.data.find((e) => e.path === name && e.type === 'file');
    if (!entry?.data) continue;
    const text = gunzipSync(entry.data, { maxOutputLength: maxChangelogBytes }).toString('utf8');
    return text;
  }
  return undefined;
}

/** What one package's update fixed. */
export interface PackageFixes {
  package: string;
  from: string;
  to: string;
  /** The changelog versions between the two (newest first). */
  versions: string[];
  cves: string[];
  /**
   * False when the .deb holds no changelog (its doc folder is a symlink to another package's, as
   * for many library packages): then the CVEs are unknown, not none.
   */
  changelogFound: boolean;
}

/** Reads the new .deb's changelog and returns what changed since `from`. */
export async function fixesOfUpdate(
  deb: Buffer,
  pkg: string,
  from: string,
  to: string,
): Promise<PackageFixes> {
  const text = changelogOf(await readDeb(deb, `${pkg} ${to}`), pkg);
  if (text === undefined)
    return { package: pkg, from, to, versions: [], cves: [], changelogFound: false };
  const between = entriesBetween(parseChangelog(text), from, to);
  return {
    package: pkg,
    from,
    to,
    versions: between.map((e) => e.version),
    cves: [...new Set(between.flatMap((e) => cveIdsIn(e.text)))].sort(),
    changelogFound: true,
  };
}
