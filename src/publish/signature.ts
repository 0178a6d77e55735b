import { sha256Digest } from '../oci/digest.ts';
import { parseManifest } from '../oci/manifest-schema.ts';
import { MediaType, type Descriptor } from '../oci/media-types.ts';
import type { RegistryClient } from '../oci/registry-client.ts';
import { cosignManifest, signatureAnnotation, signatureTag } from '../sign/cosign-objects.ts';
import { parseSimpleSigning, simpleSigningPayload } from '../sign/simple-signing.ts';
import { verifySignature, type Signer } from '../sign/signer.ts';

/**
 * Makes sure `sha256-<hex>.sig` holds a signature of `digest` by `signer`. An existing valid one
 * is kept (ECDSA signatures differ each time, so signing again would add a duplicate layer); a
 * new one is appended to whatever other signers left there, as cosign does.
 */
export async function ensureSignature(
  client: RegistryClient,
  repository: string,
  digest: string,
  signer: Signer,
): Promise<'existing' | 'signed'> {
  const tag = signatureTag(digest);
  const current = await client.getManifest(repository, tag);
  const layers: Descriptor[] = current
    ? parseManifest(current.bytes, `signature manifest ${repository}:${tag}`).layers
    : [];
  for (const layer of layers) {
    const sig = layer.annotations?.[signatureAnnotation];
    if (layer.mediaType !== MediaType.cosignSimpleSigning || !sig) continue;
    const payload = await client.getBlob(repository, layer.digest);
    const parsed = payload && parseSimpleSigning(payload);
    if (!payload || parsed?.critical.image['docker-manifest-digest'] !== digest) continue;
    if (verifySignature(signer.publicKey, payload, Buffer.from(sig, 'base64'))) return 'existing';
  }
  const payload = simpleSigningPayload(`${client.host}/${repository}`, digest);
  const layer: Descriptor = {
    mediaType: MediaType.cosignSimpleSigning,
    digest: sha256Digest(payload),
    size: payload.length,
    annotations: { [signatureAnnotation]: signer.sign(payload).toString('base64') },
  };
  const { manifest, config } = cosignManifest([...layers, layer]);
  await client.pushBlob(repository, layer.digest, { data: payload });
  await client.pushBlob(repository, config.descriptor.digest, { data: config.bytes });
  await client.putManifest(repository, tag, manifest.bytes, MediaType.imageManifest);
  return 'signed';
}
