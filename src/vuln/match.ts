import { compareDebianVersions } from '../debian/version.ts';
import type { InstalledPackage } from './installed.ts';
import { urgencyRank, type Urgency, type VulnFeed } from './model.ts';

/** One CVE that an image's source package still carries. */
export interface Finding {
  cve: string;
  source: string;
  /** The installed source version. */
  sourceVersion: string;
  /** The image's binary packages built from that source. */
  packages: string[];
  urgency: Urgency;
  /**
   * `fixable`: the release has a fixed version newer than the installed one, and one of its
   * suites holds it (a rebuild picks it up); `unfixed`: Debian has no fix in this release yet.
   */
  state: 'fixable' | 'unfixed';
  fixedVersion: string | undefined;
  /** The suite that holds the fix (`trixie-security`), when the feed says. */
  suite: string | undefined;
  /** Why no advisory is planned, when the tracker says (`nodsa`). */
  noDsa: string | undefined;
  description: string | undefined;
}

/** One source package as installed, with its binaries. */
export interface InstalledSource {
  source: string;
  sourceVersion: string;
  packages: string[];
}

/** Groups binary packages by (source, source version). */
export function installedSources(packages: InstalledPackage[]): InstalledSource[] {
  const bySource = new Map<string, InstalledSource>();
  for (const p of packages) {
    const key = `${p.source} ${p.sourceVersion}`;
    let entry = bySource.get(key);
    if (!entry) {
      entry = { source: p.source, sourceVersion: p.sourceVersion, packages: [] };
      bySource.set(key, entry);
    }
    if (!entry.packages.includes(p.name)) entry.packages.push(p.name);
  }
  for (const e of bySource.values()) e.packages.sort();
  return [...bySource.values()].sort((a, b) => a.source.localeCompare(b.source));
}

/**
 * The CVEs the installed packages carry in `release`, by dpkg ordering: a release entry with
 * fixed version `0` was never vulnerable; one whose fixed version is not newer than the installed
 * source version is fixed; one with a newer fixed version is fixable, one without is unfixed. A
 * CVE whose entry does not name `release` is not counted (the tracker has not triaged it there).
 */
export function matchFeed(
  packages: InstalledPackage[],
  feed: VulnFeed,
  release: string,
): Finding[] {
  const out: Finding[] = [];
  for (const installed of installedSources(packages)) {
    const cves = feed.sources.get(installed.source);
    if (!cves) continue;
    for (const record of cves.values()) {
      const entry = record.releases.get(release);
      if (!entry) continue;
      const fixed = entry.fixedVersion;
      if (fixed === '0') continue;
      if (fixed !== undefined && compareDebianVersions(installed.sourceVersion, fixed) >= 0)
        continue;
      const suite =
        fixed === undefined
          ? undefined
          : entry.repositories
            ? Object.entries(entry.repositories)
                .filter(([, v]) => compareDebianVersions(v, fixed) >= 0)
                .map(([s]) => s)
                .sort()[0]
            : release;
      out.push({
        cve: record.id,
        source: installed.source,
        sourceVersion: installed.sourceVersion,
        packages: installed.packages,
        urgency: entry.urgency,
        // A fix the tracker records that no suite holds yet cannot be picked up by a rebuild.
        state: fixed !== undefined && suite !== undefined ? 'fixable' : 'unfixed',
        fixedVersion: fixed,
        suite,
        noDsa: entry.noDsa,
        description: record.description,
      });
    }
  }
  return out.sort(
    (a, b) =>
      urgencyRank(b.urgency) - urgencyRank(a.urgency) ||
      a.source.localeCompare(b.source) ||
      a.cve.localeCompare(b.cve),
  );
}

/** Open CVEs by urgency, and how many are fixable. */
export interface FindingSummary {
  total: number;
  fixable: number;
  byUrgency: Partial<Record<Urgency, number>>;
}

export function summarise(findings: Finding[]): FindingSummary {
  const byUrgency: Partial<Record<Urgency, number>> = {};
  for (const f of findings) byUrgency[f.urgency] = (byUrgency[f.urgency] ?? 0) + 1;
  return {
    total: findings.length,
    fixable: findings.filter((f) => f.state === 'fixable').length,
    byUrgency,
  };
}
