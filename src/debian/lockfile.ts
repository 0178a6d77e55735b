import { z } from 'zod';
import { canonicalJson, sha256Digest } from '../oci/digest.ts';
import type { PackageRecord } from './packages.ts';
import type { CutDependency } from './resolver.ts';

/*
 * The per-arch lockfile: exactly the packages an image holds, each pinned by SHA256. It names
 * suites, not mirrors, and no InRelease date, so it only changes when a package does: a changed
 * lockfile is a nano update, an unchanged one is a no-op whatever the archive's daily churn.
 */

const lockedPackage = z.strictObject({
  name: z.string().regex(/^[a-z0-9][a-z0-9+.-]*$/),
  version: z.string().min(1),
  arch: z.string().min(1),
  source: z.string().min(1),
  'source-version': z.string().min(1),
  suite: z.string().min(1),
  filename: z.string().min(1),
  size: z.number().int().nonnegative(),
  sha256: z.string().regex(/^[a-f0-9]{64}$/),
});

export const lockfileSchema = z.strictObject({
  'lockfile-version': z.literal(1),
  arch: z.string(),
  suites: z.array(z.string()).min(1),
  packages: z.array(lockedPackage),
  /** Dependencies left out on purpose because the recipe excludes their target. */
  excluded: z.array(z.strictObject({ package: z.string(), 'needed-by': z.string() })),
});

export type Lockfile = z.infer<typeof lockfileSchema>;
export type LockedPackage = z.infer<typeof lockedPackage>;

export function lockfileOf(
  arch: string,
  suites: string[],
  packages: PackageRecord[],
  cut: CutDependency[],
): Lockfile {
  return {
    'lockfile-version': 1,
    arch,
    suites,
    packages: packages.map((p) => ({
      name: p.name,
      version: p.version,
      arch: p.arch,
      source: p.source,
      'source-version': p.sourceVersion,
      suite: p.suite,
      filename: p.filename,
      size: p.size,
      sha256: p.sha256,
    })),
    excluded: cut.map((c) => ({ package: c.package, 'needed-by': c.neededBy })),
  };
}

/** The lockfile's bytes as written beside the image: canonical JSON plus a newline. */
export function serializeLockfile(lock: Lockfile): string {
  return `${JSON.stringify(JSON.parse(canonicalJson(lock)), null, 2)}\n`;
}

/** `sha256:` of the serialized lockfile: what goes into the inputs digest. */
export function lockfileDigest(lock: Lockfile): string {
  return sha256Digest(serializeLockfile(lock));
}

/** Which packages differ between two lockfiles: for provenance ("openssl 3.0.15 → 3.0.16"). */
export function diffLockfiles(
  before: Lockfile,
  after: Lockfile,
): { name: string; from?: string; to?: string; suite?: string }[] {
  const a = new Map(before.packages.map((p) => [p.name, p]));
  const b = new Map(after.packages.map((p) => [p.name, p]));
  const names = [...new Set([...a.keys(), ...b.keys()])].sort();
  return names
    .filter((n) => a.get(n)?.sha256 !== b.get(n)?.sha256)
    .map((n) => ({
      name: n,
      from: a.get(n)?.version,
      to: b.get(n)?.version,
      suite: b.get(n)?.suite,
    }));
}
