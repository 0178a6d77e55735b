import { cyclonedxBom } from '../sbom/cyclonedx.ts';
import { spdxDocument } from '../sbom/spdx.ts';
import { PredicateType, statement } from '../sign/in-toto.ts';
import { slsaProvenance } from '../sign/provenance.ts';
import { ociPurl, openVexDocument, openVexPredicateType } from '../vuln/openvex.ts';
import type { StatementToAttest } from './attestations.ts';
import type { PublishOptions } from './publish-options.ts';

/** The predicate types every kiln image is attested with. */
export const attestationTypes = [
  PredicateType.spdx,
  PredicateType.slsaProvenance,
  PredicateType.cyclonedx,
];

/**
 * The statements about the image: SPDX SBOM, SLSA provenance, CycloneDX SBOM, and an OpenVEX
 * document when there is something to say: `fixed` for each CVE a nano update's changelogs name,
 * `not_affected` for the feed CVEs the image is not affected by.
 */
export function attestationStatements(
  options: Pick<
    PublishOptions,
    'request' | 'archResults' | 'builderId' | 'nanoFixes' | 'notAffected'
  >,
  subjectName: string,
  digest: string,
  created: string,
): StatementToAttest[] {
  const { request, archResults } = options;
  const packages = archResults.flatMap((r) => r.packages);
  const name = `${request.recipe}-${request.version}-r${request.epoch}`;
  const spdx = spdxDocument({ name, digest, packages, created });
  const provenance = slsaProvenance({
    request,
    archResults,
    fixes: options.nanoFixes?.packages,
    ...(options.builderId ? { builderId: options.builderId } : {}),
  });
  const cyclonedx = JSON.parse(
    cyclonedxBom({
      name: request.recipe,
      version: `${request.version}-r${request.epoch}`,
      digest,
      packages,
      created,
    }),
  ) as unknown;
  const make = (predicateType: string, predicate: unknown): StatementToAttest => ({
    predicateType,
    payload: Buffer.from(JSON.stringify(statement(subjectName, digest, predicateType, predicate))),
  });
  const fixed = options.nanoFixes?.fixed ?? [];
  const notAffected = options.notAffected ?? [];
  const vex =
    fixed.length > 0 || notAffected.length > 0
      ? [
          make(
            openVexPredicateType,
            openVexDocument({
              product: ociPurl(subjectName, digest),
              fixed,
              notAffected,
              timestamp: created,
            }),
          ),
        ]
      : [];
  return [
    make(PredicateType.spdx, spdx),
    make(PredicateType.slsaProvenance, provenance),
    make(PredicateType.cyclonedx, cyclonedx),
    ...vex,
  ];
}
