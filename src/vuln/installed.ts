import { parseControl } from '../debian/control.ts';

/** A binary package found in an image, with the source package it was built from. */
export interface InstalledPackage {
  name: string;
  version: string;
  arch: string | undefined;
  /** The source package: the `Source:` field's name, or the binary's own name. */
  source: string;
  /** The source version: `Source: name (version)`, else the binary version less a binNMU `+bN`. */
  sourceVersion: string;
}

/**
 * The source of a binary package, as dpkg records it: `Source: openssl (3.5.4-1~deb13u1)` when
 * the versions differ (a binNMU), `Source: openssl` when only the names do, nothing when the
 * binary is named like its source.
 */
export function sourceOf(
  name: string,
  version: string,
  sourceField: string | undefined,
): { source: string; sourceVersion: string } {
  const m = /^\s*([^\s(]+)(?:\s*\(([^)]+)\))?\s*$/.exec(sourceField ?? '');
  const source = m?.[1] ?? name;
  const sourceVersion = m?.[2]?.trim() ?? binNmuStripped(version);
  return { source, sourceVersion };
}

/** `2.36-9+deb12u4+b1` → `2.36-9+deb12u4`: a binNMU rebuilds the same source. */
export function binNmuStripped(version: string): string {
  return version.replace(/\+b\d+$/, '');
}

/**
 * Packages of a dpkg status file (`/var/lib/dpkg/status`) or one `status.d/<name>` entry: every
 * paragraph with a Package and Version; in the full status file only those dpkg calls
 * `install ok installed` (a removed package keeps a `deinstall ok config-files` paragraph).
 */
export function parseDpkgStatus(text: string): InstalledPackage[] {
  const out: InstalledPackage[] = [];
  for (const p of parseControl(text)) {
    const name = p.get('package');
    const version = p.get('version');
    if (!name || !version) continue;
    const status = p.get('status');
    if (status !== undefined && !/ installed$/.test(status.trim())) continue;
    out.push({
      name,
      version,
      arch: p.get('architecture'),
      ...sourceOf(name, version, p.get('source')),
    });
  }
  return out;
}
