import type { KeyObject } from 'node:crypto';
import { assertBundle, bundleFromJSON } from '@sigstore/bundle';
import { Limits } from '../oci/limits.ts';
import { parseIndex, parseManifest } from '../oci/manifest-schema.ts';
import { MediaType, type Descriptor } from '../oci/media-types.ts';
import type { RegistryClient } from '../oci/registry-client.ts';
import { referrersTag } from './cosign-objects.ts';
import type { DsseEnvelope } from './dsse.ts';
import { publicKeyHint } from './keys.ts';
import { checkEnvelope } from './verify-attestations.ts';
import { notByKey, VerificationError, type IgnoredSignature } from './verify-report.ts';

/**
 * How many Sigstore bundle referrers of `digest` verify with the key (0 when there are none);
 * bundles by other keys are ignored, a bundle naming this key that does not verify is an error.
 */
export async function checkBundles(
  client: RegistryClient,
  repository: string,
  digest: string,
  key: KeyObject,
  ignored: IgnoredSignature[],
): Promise<number> {
  const index = await client.getManifest(repository, referrersTag(digest));
  if (!index) return 0;
  let verified = 0;
  for (const d of parseIndex(index.bytes, `referrers index of ${digest}`).manifests) {
    if (d.artifactType !== MediaType.sigstoreBundle) continue;
    const label = `Sigstore bundle ${d.digest}`;
    const { envelope, hint } = await readBundle(client, repository, d, digest, label);
    if (!checkEnvelope(envelope, key, digest, label)) {
      // A bundle that names this very key yet does not verify was changed after signing.
      if (hint === publicKeyHint(key)) throw new VerificationError(`${label}: ${notByKey}`);
      ignored.push({
        kind: 'bundle',
        digest: d.digest,
        manifest: digest,
        reason: `${label}: ${notByKey}`,
        otherSigner: true,
      });
      continue;
    }
    verified++;
  }
  return verified;
}

/** The DSSE envelope and key hint of one bundle referrer, whose subject must be `digest`. */
async function readBundle(
  client: RegistryClient,
  repository: string,
  referrer: Descriptor,
  digest: string,
  label: string,
): Promise<{ envelope: DsseEnvelope; hint: string | undefined }> {
  const manifest = await client.getManifest(repository, referrer.digest);
  if (!manifest) throw new VerificationError(`${label}: listed in the referrers index but missing`);
  const parsed = parseManifest(manifest.bytes, label);
  if (parsed.subject?.digest !== digest)
    throw new VerificationError(
      `${label}: its subject is ${parsed.subject?.digest ?? 'missing'}, not ${digest}`,
    );
  const layer = parsed.layers.find((l) => l.mediaType === MediaType.sigstoreBundle);
  const bytes =
    layer &&
    (await client.getBlob(repository, layer.digest, {
      maxBytes: Limits.attestationBytes,
      expectedSize: layer.size,
    }));
  if (!bytes) throw new VerificationError(`${label}: bundle layer missing`);
  try {
    return bundleEnvelope(bytes);
  } catch (error) {
    throw new VerificationError(`${label}: not a valid Sigstore bundle`, { cause: error });
  }
}

function bundleEnvelope(bytes: Buffer): { envelope: DsseEnvelope; hint: string | undefined } {
  const bundle = bundleFromJSON(JSON.parse(bytes.toString('utf8')));
  assertBundle(bundle);
  if (bundle.content.$case !== 'dsseEnvelope') throw new Error('not a DSSE bundle');
  const material = bundle.verificationMaterial.content;
  const e = bundle.content.dsseEnvelope;
  return {
    envelope: {
      payloadType: e.payloadType,
      payload: e.payload.toString('base64'),
      signatures: e.signatures.map((s) => ({ keyid: s.keyid, sig: s.sig.toString('base64') })),
    },
    hint: material.$case === 'publicKey' ? material.publicKey.hint : undefined,
  };
}
