import { z } from 'zod';
import { openVexContext } from './openvex-types.ts';
import type { ParsedStatement } from './in-toto.ts';
import { VerificationError, type VexReport } from './verify-report.ts';
import { field } from './verify-summary.ts';

/*
 * The OpenVEX attestation of a nano update: the signed provenance lists what each changed
 * package's changelog says it fixed (`internalParameters.fixes`), and the VEX statement signed by
 * the same key must say `fixed` for every one of those CVEs, about this very image. So a VEX that
 * was removed or tampered with (its envelope then no longer verifies and is ignored) fails, and
 * a VEX whose claims do not match the provenance fails.
 */

const vexSchema = z.object({
  '@context': z.literal(openVexContext),
  '@id': z.string(),
  statements: z.array(
    z.object({
      vulnerability: z.object({ name: z.string() }),
      products: z.array(z.object({ '@id': z.string() })).min(1),
      status: z.enum(['not_affected', 'affected', 'fixed', 'under_investigation']),
    }),
  ),
});

const fixesSchema = z.array(z.object({ cves: z.array(z.string()) }));

/** The CVEs the signed provenance says this nano update fixed (none at -r0). */
export function provenanceFixes(provenance: ParsedStatement): string[] {
  const internal = field(field(provenance.predicate, 'buildDefinition'), 'internalParameters');
  const parsed = fixesSchema.safeParse(field(internal, 'fixes'));
  return parsed.success ? [...new Set(parsed.data.flatMap((f) => f.cves))].sort() : [];
}

/**
 * Checks the VEX statement (if any) against the image and the provenance; throws
 * {@link VerificationError} with the reason. `missing` says why none was found (ignored envelopes).
 */
export function checkVex(
  vex: ParsedStatement | undefined,
  provenance: ParsedStatement,
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
  for (const s of doc.data.statements) {
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
