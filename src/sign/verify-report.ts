import { PermanentError } from '../errors.ts';

/** A check `kiln verify` could not pass; the message is the reason a person reads. */
export class VerificationError extends PermanentError {}

export interface VerifyReport {
  reference: string;
  digest: string;
  /** Signature layers that verified with the key. */
  signatures: number;
  /**
   * The arch manifests of an index, each with a signature by the key (what containers/image
   * checks when it pulls one); empty for a single-manifest image.
   */
  instances: { digest: string; platform: string | undefined }[];
  attestations: { predicateType: string; layer: string }[];
  sbom: { format: 'SPDX'; version: string; packages: number };
  cyclonedx?: { components: number };
  provenance: {
    upstreamVersion: string | undefined;
    buildType: string | undefined;
    builderId: string | undefined;
  };
  /** The OpenVEX attestation of a nano update, checked against the provenance's fixes. */
  vex?: VexReport;
  /** Sigstore bundle referrers that verified (0 when the image has none). */
  bundles: number;
  /**
   * What was left out, as cosign does with other signers' signatures: signatures, attestations
   * and bundles not signed by the key, and signatures of the key that are not for this image.
   */
  ignored: IgnoredSignature[];
}

export interface IgnoredSignature {
  /** A `.sig` layer, a `.att` envelope or a Sigstore bundle referrer. */
  kind: 'signature' | 'attestation' | 'bundle';
  /** The layer's digest (the bundle manifest's, for a bundle). */
  digest: string;
  /** The manifest it is attached to: the index, or one of its arch manifests. */
  manifest: string;
  predicateType?: string;
  reason: string;
  /**
   * Not signed by the given key: another signer's, or tampered (a signature alone cannot tell
   * the two apart, nor which of them come from the same other signer).
   */
  otherSigner: boolean;
}

export interface VerifyOptions {
  /**
   * Reject a signature whose payload's `critical.identity.docker-reference` names another
   * repository than the one verified (containers/image's `matchRepository`).
   */
  repositoryMatch?: boolean;
}

/** Why a signature, envelope or bundle is not counted. */
export const notByKey =
  'signature does not verify with the given key (tampered, or signed by another key)';

/** What the report says of the VEX attestation. */
export interface VexReport {
  statements: number;
  fixed: string[];
  notAffected: string[];
}
