import { fixesOfUpdate, type PackageFixes } from './changelog.ts';
import type { FixedCve } from './openvex.ts';

/** One package a nano update changed, with the new .deb the build downloaded. */
export interface ChangedPackage {
  name: string;
  from: string;
  to: string;
  /** The new version's purl, as the SBOM writes it. */
  purl: string;
  /** Undefined when the .deb is not at hand (built on another machine): CVEs unknown. */
  deb: Buffer | undefined;
}

export interface NanoUpdateFixes {
  packages: PackageFixes[];
  /** One per CVE: every changed package whose changelog names it. */
  fixed: FixedCve[];
}

/**
 * What a nano update fixed, from each changed package's changelog: the per-package notes
 * (`openssl 3.5.4-1~deb13u1 → 3.5.4-1~deb13u2 fixes CVE-…`) and the `fixed` CVEs for OpenVEX.
 */
export async function nanoUpdateFixes(changed: ChangedPackage[]): Promise<NanoUpdateFixes> {
  const packages: PackageFixes[] = [];
  const byCve = new Map<string, { purls: Set<string>; notes: Set<string> }>();
  for (const c of changed) {
    const fixes = c.deb
      ? await fixesOfUpdate(c.deb, c.name, c.from, c.to)
      : { package: c.name, from: c.from, to: c.to, versions: [], cves: [], changelogFound: false };
    packages.push(fixes);
    for (const cve of fixes.cves) {
      let entry = byCve.get(cve);
      if (!entry) byCve.set(cve, (entry = { purls: new Set(), notes: new Set() }));
      entry.purls.add(c.purl);
      entry.notes.add(`${c.name} ${c.from} → ${c.to}`);
    }
  }
  const fixed = [...byCve.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([cve, e]) => ({
      cve,
      packages: [...e.purls].sort(),
      note: [...e.notes].sort().join('; '),
    }));
  return { packages, fixed };
}
