import { z } from 'zod';
import { openVexContext } from './openvex-types.ts';
import type { ParsedStatement } from './in-toto.ts';
import { VerificationError, type VexReport } from './verify-report.ts';
import { field } from './verify-summary.ts';

/*
 * The OpenVEX attestation: the signed provenance of a nano update lists what each changed
 * package's changelog says it fixed (`internalParameters.fixes`), and the VEX statement signed by
 * the same key must say `fixed` for every one of those CVEs, about this very image. Its
 * `not_affected` statements must follow the spec (a justification label from its table) and
 * agree with the signed SBOM: they name only packages the image carries, and the binaries they
 * say hold the vulnerable code are absent. So a VEX that was removed or tampered with (its
 * envelope then no longer verifies and is ignored) fails, and one whose claims do not match the
 * provenance or the SBOM fails.
 */

/** OpenVEX v0.2.0's justification labels (the spec's Status Justifications table). */
export const vexJustifications = [
  'component_not_present',
  'vulnerable_code_not_present',
  'vulnerable_code_not_in_execute_path',
  'vulnerable_code_cannot_be_controlled_by_adversary',
  'inline_mitigations_already_exist',
] as const;

const componentSchema = z.object({ '@id': z.string() });
const vexSchema = z.object({
  '@context': z.literal(openVexContext),
  '@id': z.string(),
  author: z.string().min(1),
  timestamp: z.string().refine((t) => !Number.isNaN(Date.parse(t)), 'not a date'),
  version: z.number().int(),
  statements: z.array(
    z.object({
      vulnerability: z.object({ name: z.string() }),
      products: z
        .array(componentSchema.extend({ subcomponents: z.array(componentSchema).optional() }))
        .min(1),
      status: z.enum(['not_affected', 'affected', 'fixed', 'under_investigation']),
      justification: z.enum(vexJustifications).optional(),
      impact_statement: z.string().optional(),
      action_statement: z.string().optional(),
    }),
  ),
});
type VexStatement = z.infer<typeof vexSchema>['statements'][number];

const spdxPackagesSchema = z.object({
  packages: z.array(
    z.object({
      name: z.string(),
      externalRefs: z
        .array(z.object({ referenceType: z.string(), referenceLocator: z.string() }))
        .optional(),
    }),
  ),
});

/** The package names and purls the signed SPDX SBOM lists. */
function sbomContents(sbom: ParsedStatement): { names: Set<string>; purls: Set<string> } {
  const parsed = spdxPackagesSchema.safeParse(sbom.predicate);
  const packages = parsed.success ? parsed.data.packages : [];
  const purls = packages.flatMap((p) =>
    (p.externalRefs ?? []).filter((r) => r.referenceType === 'purl').map((r) => r.referenceLocator),
  );
  return { names: new Set(packages.map((p) => p.name)), purls: new Set(purls) };
}

/** kiln's impact statement names the binaries the vulnerable code ships in (src/vuln/openvex.ts). */
const shipsOnlyIn = /ships only in ([^;]+?), which this image does not carry;/;

/** The fields each status may carry, as go-vex's `Statement.Validate` (vexctl's) allows them. */
const allowedFields: Record<VexStatement['status'], (keyof VexStatement)[]> = {
  not_affected: ['justification', 'impact_statement'],
  affected: ['action_statement'],
  fixed: [],
  under_investigation: [],
};

/**
 * The spec's rules for a statement, as go-vex checks them (not_affected: a justification or an
 * impact statement; affected: an action statement; no field of another status) and, for
 * not_affected, the signed SBOM's: each subcomponent is a package the image carries, and the
 * binaries kiln says carry the vulnerable code are not.
 */
function statementProblem(
  s: VexStatement,
  sbom: { names: Set<string>; purls: Set<string> },
): string | undefined {
  const stray = (['justification', 'impact_statement', 'action_statement'] as const).filter(
    (f) => s[f] !== undefined && !allowedFields[s.status].includes(f),
  );
  if (stray.length > 0) return `${s.status} with ${stray.join(', ')}`;
  if (s.status === 'affected' && !s.action_statement) return 'affected without an action_statement';
  if (s.status !== 'not_affected') return undefined;
  if (!s.justification && !s.impact_statement)
    return 'not_affected without a justification or an impact_statement';
  const foreign = s.products
    .flatMap((p) => p.subcomponents ?? [])
    .map((c) => c['@id'])
    .filter((id) => !sbom.purls.has(id));
  if (foreign.length > 0)
    return `not_affected names ${foreign.join(', ')}, which the signed SBOM does not list`;
  const named = shipsOnlyIn.exec(s.impact_statement ?? '')?.[1]?.split(', ') ?? [];
  const present = named.filter((b) => sbom.names.has(b));
  if (present.length > 0)
    return `not_affected because ${named.join(', ')} is not in the image, but the signed SBOM lists ${present.join(', ')}`;
  return undefined;
}

const fixesSchema = z.array(z.object({ cves: z.array(z.string()) }));

/** The CVEs the signed provenance says this nano update fixed (none at -r0). */
export function provenanceFixes(provenance: ParsedStatement): string[] {
  const internal = field(field(provenance.predicate, 'buildDefinition'), 'internalParameters');
  const parsed = fixesSchema.safeParse(field(internal, 'fixes'));
  return parsed.success ? [...new Set(parsed.data.flatMap((f) => f.cves))].sort() : [];
}

/**
 * Checks the VEX statement (if any) against the image, the provenance and the SBOM; throws
 * {@link VerificationError} with the reason. `missing` says why none was found (ignored envelopes).
 */
export function checkVex(
  vex: ParsedStatement | undefined,
  provenance: ParsedStatement,
  sbom: ParsedStatement,
  name: string,
  digest: string,
  missing: string,
): VexReport | undefined {
  const expected = provenanceFixes(provenance);
  if (!vex) {
    if (expected.length === 0) return undefined;
    throw new VerificationError(
      `${name}@${digest}: the provenance says this update fixes ${expected.join(', ')}, but no OpenVEX attestation signed by the given key says so${missing}`,
    );
  }
  const doc = vexSchema.safeParse(vex.predicate);
  if (!doc.success)
    throw new VerificationError(
      `${name}@${digest}: the OpenVEX attestation is not an OpenVEX v0.2.0 document: ${z.prettifyError(doc.error)}`,
    );
  const hex = digest.replace(/^sha256:/, '');
  const contents = sbomContents(sbom);
  for (const s of doc.data.statements) {
    const problem = statementProblem(s, contents);
    if (problem)
      throw new VerificationError(
        `${name}@${digest}: the OpenVEX statement on ${s.vulnerability.name}: ${problem}`,
      );
    const aboutThis = s.products.some(
      (p) =>
        p['@id'].startsWith('pkg:oci/') && decodeURIComponent(p['@id']).includes(`sha256:${hex}`),
    );
    if (!aboutThis)
      throw new VerificationError(
        `${name}@${digest}: the OpenVEX statement on ${s.vulnerability.name} is about ${s.products.map((p) => p['@id']).join(', ')}, not this image`,
      );
  }
  const fixed = [
    ...new Set(
      doc.data.statements.filter((s) => s.status === 'fixed').map((s) => s.vulnerability.name),
    ),
  ].sort();
  const absent = expected.filter((c) => !fixed.includes(c));
  if (absent.length > 0)
    throw new VerificationError(
      `${name}@${digest}: the provenance says this update fixes ${absent.join(', ')}, but the OpenVEX attestation does not say fixed`,
    );
  return {
    statements: doc.data.statements.length,
    fixed,
    notAffected: doc.data.statements
      .filter((s) => s.status === 'not_affected')
      .map((s) => s.vulnerability.name)
      .sort(),
  };
}
