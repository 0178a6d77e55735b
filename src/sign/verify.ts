import type { KeyObject } from 'node:crypto';
import { MediaType } from '../oci/media-types.ts';
import type { ImageReference } from '../oci/reference.ts';
import type { RegistryClient } from '../oci/registry-client.ts';
import { PredicateType } from './in-toto.ts';
import { checkAttestations } from './verify-attestations.ts';
import { checkBundles } from './verify-bundles.ts';
import {
  VerificationError,
  type IgnoredSignature,
  type VerifyOptions,
  type VerifyReport,
} from './verify-report.ts';
import { checkInstances, checkSignatures } from './verify-signatures.ts';
import { arrayLength, field, provenanceSummary, spdxSummary } from './verify-summary.ts';
import { checkVex } from './verify-vex.ts';
import { openVexPredicateType } from './openvex-types.ts';

export {
  VerificationError,
  type IgnoredSignature,
  type VerifyOptions,
  type VerifyReport,
} from './verify-report.ts';

/**
 * Verifies a published image with a public key, the way cosign does: resolves the reference to a
 * digest and requires one simple-signing signature of that digest by the key (naming this
 * repository, with `repositoryMatch`) — of an index and of each arch manifest it lists, which is
 * what containers/image checks — and an SPDX SBOM and a SLSA provenance among the `.att`
 * envelopes signed by the key over the DSSE PAE. Signatures, attestations and bundles by other
 * keys are ignored and reported in `ignored`; whatever the key did sign must have this image as
 * its subject. Throws {@link VerificationError} with the reason it fails.
 */
export async function verifyImage(
  client: RegistryClient,
  ref: ImageReference,
  publicKey: KeyObject,
  options: VerifyOptions = {},
): Promise<VerifyReport> {
  const { repository } = ref;
  const name = `${ref.host}/${repository}`;
  const target = ref.digest ?? ref.tag ?? 'latest';
  const head = await client.headManifest(repository, target);
  if (!head) throw new VerificationError(`${name}:${target} does not exist`);
  const digest = head.digest;
  if (ref.digest && digest !== ref.digest)
    throw new VerificationError(`${name}@${ref.digest}: registry answered with ${digest}`);

  const ignored: IgnoredSignature[] = [];
  const signatures = await checkSignatures(client, ref, digest, publicKey, options, ignored);
  const instances = isIndexMediaType(head.mediaType)
    ? await checkInstances(client, ref, digest, publicKey, options, ignored)
    : [];
  const { attestations, statements } = await checkAttestations(
    client,
    repository,
    digest,
    publicKey,
    ignored,
  );
  const bundles = await checkBundles(client, repository, digest, publicKey, ignored);

  const spdx = statements.get(PredicateType.spdx);
  if (!spdx)
    throw new VerificationError(
      `${name}@${digest}: no SPDX SBOM attestation (${PredicateType.spdx}) signed by the given key${ignoredOf(ignored, PredicateType.spdx)}`,
    );
  const provenance = statements.get(PredicateType.slsaProvenance);
  if (!provenance)
    throw new VerificationError(
      `${name}@${digest}: no SLSA provenance attestation (${PredicateType.slsaProvenance}) signed by the given key${ignoredOf(ignored, PredicateType.slsaProvenance)}`,
    );
  const cdx = statements.get(PredicateType.cyclonedx);
  const vex = checkVex(
    statements.get(openVexPredicateType),
    provenance,
    spdx,
    name,
    digest,
    ignoredOf(ignored, openVexPredicateType),
  );
  return {
    reference: `${name}@${digest}`,
    digest,
    signatures,
    instances,
    attestations,
    sbom: spdxSummary(spdx),
    ...(cdx ? { cyclonedx: { components: arrayLength(field(cdx.predicate, 'components')) } } : {}),
    provenance: provenanceSummary(provenance),
    ...(vex ? { vex } : {}),
    bundles,
    ignored,
  };
}

function isIndexMediaType(mediaType: string | undefined): boolean {
  return mediaType === MediaType.imageIndex || mediaType === MediaType.dockerManifestList;
}

/** `; <reason>; …` of the ignored attestations of one predicate type, for the message that it is missing. */
function ignoredOf(ignored: IgnoredSignature[], predicateType: string): string {
  const reasons = ignored
    .filter((i) => i.kind === 'attestation' && i.predicateType === predicateType)
    .map((i) => i.reason);
  return reasons.length > 0 ? `; ${reasons.join('; ')}` : '';
}
