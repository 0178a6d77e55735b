import type { KeyObject } from 'node:crypto';
import { Limits } from '../oci/limits.ts';
import { parseManifest } from '../oci/manifest-schema.ts';
import { MediaType } from '../oci/media-types.ts';
import type { RegistryClient } from '../oci/registry-client.ts';
import { attestationTag } from './cosign-objects.ts';
import { inTotoPayloadType, parseEnvelope, verifyEnvelope, type DsseEnvelope } from './dsse.ts';
import { coversDigest, parseStatement, type ParsedStatement } from './in-toto.ts';
import {
  notByKey,
  VerificationError,
  type IgnoredSignature,
  type VerifyReport,
} from './verify-report.ts';

/** The `.att` envelopes signed by the key, and the first statement of each predicate type. */
export async function checkAttestations(
  client: RegistryClient,
  repository: string,
  digest: string,
  key: KeyObject,
  ignored: IgnoredSignature[],
): Promise<{
  attestations: VerifyReport['attestations'];
  statements: Map<string, ParsedStatement>;
}> {
  const tag = attestationTag(digest);
  const manifest = await client.getManifest(repository, tag);
  if (!manifest)
    throw new VerificationError(`${repository}@${digest} has no attestations: no ${tag}`);
  const layers = parseManifest(manifest.bytes, `attestation manifest ${tag}`).layers.filter(
    (l) => l.mediaType === MediaType.dsseEnvelope,
  );
  if (layers.length === 0) throw new VerificationError(`${tag} holds no DSSE envelopes`);
  const attestations: VerifyReport['attestations'] = [];
  const statements = new Map<string, ParsedStatement>();
  for (const layer of layers) {
    const bytes = await client.getBlob(repository, layer.digest, {
      maxBytes: Limits.attestationBytes,
      expectedSize: layer.size,
    });
    const envelope = bytes && parseEnvelope(bytes);
    const label = `attestation ${layer.annotations?.predicateType ?? layer.digest}`;
    if (!envelope) throw new VerificationError(`${label}: not a DSSE envelope`);
    const s = checkEnvelope(envelope, key, digest, label);
    if (!s) {
      const predicateType = layer.annotations?.predicateType;
      ignored.push({
        kind: 'attestation',
        digest: layer.digest,
        manifest: digest,
        ...(predicateType ? { predicateType } : {}),
        reason: `${label}: ${notByKey}`,
        otherSigner: true,
      });
      continue;
    }
    attestations.push({ predicateType: s.predicateType, layer: layer.digest });
    if (!statements.has(s.predicateType)) statements.set(s.predicateType, s);
  }
  return { attestations, statements };
}

/**
 * The statement of an envelope signed by `key`, or undefined when the key did not sign it (another
 * signer's, which is ignored). What the key signed must be an in-toto statement about `digest`.
 */
export function checkEnvelope(
  envelope: DsseEnvelope,
  key: KeyObject,
  digest: string,
  label: string,
): ParsedStatement | undefined {
  const body = verifyEnvelope(envelope, key);
  if (!body) return undefined;
  if (envelope.payloadType !== inTotoPayloadType)
    throw new VerificationError(`${label}: payload type ${envelope.payloadType} is not in-toto`);
  const s = parseStatement(body);
  if (!s) throw new VerificationError(`${label}: payload is not an in-toto statement`);
  if (!coversDigest(s, digest)) {
    const subjects = s.subject
      .map((x) =>
        Object.entries(x.digest)
          .map(([a, h]) => `${a}:${h}`)
          .join(','),
      )
      .join(' ');
    throw new VerificationError(
      `${label} (${s.predicateType}): its subject is ${subjects}, not this image ${digest}`,
    );
  }
  return s;
}
