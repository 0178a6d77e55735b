import { sha256Digest } from '../oci/digest.ts';
import { Limits } from '../oci/limits.ts';
import { parseManifest } from '../oci/manifest-schema.ts';
import { MediaType, type Descriptor } from '../oci/media-types.ts';
import type { RegistryClient } from '../oci/registry-client.ts';
import {
  attestationTag,
  cosignManifest,
  predicateTypeAnnotation,
  signatureAnnotation,
} from '../sign/cosign-objects.ts';
import {
  inTotoPayloadType,
  parseEnvelope,
  signEnvelope,
  verifyEnvelope,
  type DsseEnvelope,
} from '../sign/dsse.ts';
import { coversDigest, parseStatement } from '../sign/in-toto.ts';
import type { Signer } from '../sign/signer.ts';

export interface StatementToAttest {
  predicateType: string;
  /** The serialized in-toto statement: the DSSE payload. */
  payload: Buffer;
}

export interface AttestedEnvelope {
  predicateType: string;
  envelope: DsseEnvelope;
  /** Whether this run signed it (false: it was already in the registry). */
  created: boolean;
}

/**
 * Makes sure `sha256-<hex>.att` holds, for each predicate type, a DSSE envelope signed by `signer`
 * whose statement is about `digest`. Existing ones are kept and returned, so a re-run signs nothing
 * twice and the bundle referrers can reuse the very same envelopes.
 */
export async function ensureAttestations(
  client: RegistryClient,
  repository: string,
  digest: string,
  statements: StatementToAttest[],
  signer: Signer,
): Promise<AttestedEnvelope[]> {
  const tag = attestationTag(digest);
  const current = await client.getManifest(repository, tag);
  const layers: Descriptor[] = current
    ? parseManifest(current.bytes, `attestation manifest ${repository}:${tag}`).layers
    : [];
  const found = new Map<string, DsseEnvelope>();
  for (const layer of layers) {
    if (layer.mediaType !== MediaType.dsseEnvelope) continue;
    const bytes = await client.getBlob(repository, layer.digest, {
      maxBytes: Limits.attestationBytes,
      expectedSize: layer.size,
    });
    const envelope = bytes && parseEnvelope(bytes);
    const body =
      envelope && envelope.payloadType === inTotoPayloadType
        ? verifyEnvelope(envelope, signer.publicKey)
        : undefined;
    const parsed = body && parseStatement(body);
    if (envelope && parsed && coversDigest(parsed, digest) && !found.has(parsed.predicateType))
      found.set(parsed.predicateType, envelope);
  }
  const out: AttestedEnvelope[] = [];
  const added: Descriptor[] = [];
  for (const s of statements) {
    const existing = found.get(s.predicateType);
    if (existing) {
      out.push({ predicateType: s.predicateType, envelope: existing, created: false });
      continue;
    }
    const envelope = signEnvelope(inTotoPayloadType, s.payload, signer);
    const bytes = Buffer.from(JSON.stringify(envelope));
    const layer: Descriptor = {
      mediaType: MediaType.dsseEnvelope,
      digest: sha256Digest(bytes),
      size: bytes.length,
      annotations: { [signatureAnnotation]: '', [predicateTypeAnnotation]: s.predicateType },
    };
    await client.pushBlob(repository, layer.digest, { data: bytes });
    added.push(layer);
    out.push({ predicateType: s.predicateType, envelope, created: true });
  }
  if (added.length > 0) {
    const { manifest, config } = cosignManifest([...layers, ...added]);
    await client.pushBlob(repository, config.descriptor.digest, { data: config.bytes });
    await client.putManifest(repository, tag, manifest.bytes, MediaType.imageManifest);
  }
  return out;
}
