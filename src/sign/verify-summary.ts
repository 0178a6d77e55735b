import type { ParsedStatement } from './in-toto.ts';
import type { VerifyReport, VexReport } from './verify-report.ts';

/** Package count and version of an SPDX statement, for the report. */
export function spdxSummary(s: ParsedStatement): VerifyReport['sbom'] {
  const packages = field(s.predicate, 'packages');
  const describes = field(s.predicate, 'documentDescribes');
  const roots = new Set(
    Array.isArray(describes) ? describes.filter((x): x is string => typeof x === 'string') : [],
  );
  const count = Array.isArray(packages)
    ? packages.filter((p) => !roots.has(String(field(p, 'SPDXID')))).length
    : 0;
  return {
    format: 'SPDX',
    version: String(field(s.predicate, 'spdxVersion') ?? 'unknown'),
    packages: count,
  };
}

export function provenanceSummary(s: ParsedStatement): VerifyReport['provenance'] {
  const definition = field(s.predicate, 'buildDefinition');
  const version = field(field(definition, 'externalParameters'), 'version');
  const builderId = field(field(field(s.predicate, 'runDetails'), 'builder'), 'id');
  const buildType = field(definition, 'buildType');
  return {
    upstreamVersion: typeof version === 'string' ? version : undefined,
    buildType: typeof buildType === 'string' ? buildType : undefined,
    builderId: typeof builderId === 'string' ? builderId : undefined,
  };
}

export function field(value: unknown, key: string): unknown {
  return value !== null && typeof value === 'object'
    ? (value as Record<string, unknown>)[key]
    : undefined;
}

export function arrayLength(value: unknown): number {
  return Array.isArray(value) ? value.length : 0;
}

function someOf(cves: readonly string[], shown = 5): string {
  const head = cves.slice(0, shown).join(', ');
  return cves.length > shown ? `${head} and ${cves.length - shown} more` : head;
}

/**
 * What was checked of the OpenVEX attestation: its `fixed` statements (each CVE the signed
 * provenance says the update fixed) and its `not_affected` ones; an image without one is a
 * build whose provenance names no fix (verify fails when it names one and no VEX says so).
 * `kiln verify`'s VEX line and `kiln up --once --verify`'s "verified" line.
 */
export function vexSummary(vex: VexReport | undefined): string {
  if (!vex) return 'none attached (the provenance names no CVE fix to vouch for)';
  const fixed = `${vex.fixed.length} fixed${vex.fixed.length ? ` (${someOf(vex.fixed)})` : ''}`;
  const notAffected = vex.notAffected.length
    ? `, ${vex.notAffected.length} not_affected (${someOf(vex.notAffected)})`
    : '';
  return `OpenVEX attestation checked, ${vex.statements} statement${vex.statements === 1 ? '' : 's'}: ${fixed}${notAffected}`;
}
