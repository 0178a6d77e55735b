import { bundleToJSON, toDSSEBundle } from '@sigstore/bundle';
import { Annotation, MediaType, type Descriptor } from '../oci/media-types.ts';
import { sha256Digest } from '../oci/digest.ts';
import { parseIndex } from '../oci/manifest-schema.ts';
import type { RegistryClient } from '../oci/registry-client.ts';
import {
  BundleAnnotation,
  bundleManifest,
  emptyJson,
  referrersIndex,
  referrersTag,
} from '../sign/cosign-objects.ts';
import { decodeBase64, type DsseEnvelope } from '../sign/dsse.ts';
import { publicKeyHint } from '../sign/keys.ts';
import type { Signer } from '../sign/signer.ts';
import type { AttestedEnvelope } from './attestations.ts';

/**
 * Writes each attestation again as a Sigstore bundle v0.3 referrer (what cosign v3 writes by
 * default): a manifest with `subject` = the image, listed in the referrers fallback tag
 * `sha256-<hex>` because docker-registry has no referrers API. A referrer already listed for a
 * predicate type is left alone, so re-runs add nothing.
 */
export async function ensureBundleReferrers(
  client: RegistryClient,
  repository: string,
  subject: Descriptor,
  attested: AttestedEnvelope[],
  signer: Signer,
  created: string,
): Promise<number> {
  const tag = referrersTag(subject.digest);
  const current = await client.getManifest(repository, tag);
  const listed: Descriptor[] = current
    ? parseIndex(current.bytes, `referrers index ${repository}:${tag}`).manifests
    : [];
  const listedTypes = new Set(
    listed
      .filter((d) => d.artifactType === MediaType.sigstoreBundle)
      .map((d) => d.annotations?.[BundleAnnotation.predicateType]),
  );
  const keyHint = publicKeyHint(signer.publicKey);
  const additions: Descriptor[] = [];
  for (const { predicateType, envelope } of attested) {
    if (listedTypes.has(predicateType)) continue;
    const signature = envelope.signatures[0];
    if (!signature) continue;
    const bundle = { envelope, predicateType, keyHint, sig: signature.sig };
    additions.push(await pushBundle(client, repository, subject, bundle, created));
  }
  if (additions.length > 0) {
    await client.putManifest(
      repository,
      tag,
      referrersIndex([...listed, ...additions]),
      MediaType.imageIndex,
    );
  }
  return additions.length;
}

/** Pushes one DSSE envelope as a Sigstore bundle manifest whose subject is the image. */
async function pushBundle(
  client: RegistryClient,
  repository: string,
  subject: Descriptor,
  attested: { envelope: DsseEnvelope; predicateType: string; keyHint: string; sig: string },
  created: string,
): Promise<Descriptor> {
  const { envelope, predicateType, keyHint } = attested;
  const bundle = bundleToJSON(
    toDSSEBundle({
      artifact: decodeBase64(envelope.payload),
      artifactType: envelope.payloadType,
      signature: decodeBase64(attested.sig),
      keyHint,
    }),
  );
  const bytes = Buffer.from(JSON.stringify(bundle));
  const layer = {
    mediaType: MediaType.sigstoreBundle,
    digest: sha256Digest(bytes),
    size: bytes.length,
  };
  const annotations = {
    [BundleAnnotation.content]: 'dsse-envelope',
    [BundleAnnotation.predicateType]: predicateType,
    [Annotation.created]: created,
  };
  const manifest = bundleManifest({ descriptor: layer, bytes }, subject, annotations);
  await client.pushBlob(repository, layer.digest, { data: bytes });
  await client.pushBlob(repository, emptyJson.descriptor.digest, { data: emptyJson.bytes });
  await client.putManifest(
    repository,
    manifest.descriptor.digest,
    manifest.bytes,
    MediaType.imageManifest,
  );
  return { ...manifest.descriptor, artifactType: MediaType.sigstoreBundle, annotations };
}
