import pLimit from 'p-limit';
import { parseIndex } from '../oci/manifest-schema.ts';
import type { RegistryClient } from '../oci/registry-client.ts';
import { signatureTag } from '../sign/cosign-objects.ts';
import type { Signer } from '../sign/signer.ts';
import { ensureSignature } from './signature.ts';

/** The digests of the manifests an index lists: the instances a client pulls for its platform. */
export function instanceDigests(indexBytes: Uint8Array, what: string): string[] {
  return [...new Set(parseIndex(indexBytes, what).manifests.map((m) => m.digest))];
}

/**
 * What `cosign sign --recursive` does: every manifest the index lists gets its own `.sig`.
 * containers/image (skopeo, podman, CRI-O) checks the signature of the instance it copies, not
 * the index's, so without these a `sigstoreSigned` policy refuses the image. Each one goes
 * through {@link ensureSignature}, so a re-run adds no second layer. Returns how many it signed.
 */
export async function ensureInstanceSignatures(
  client: RegistryClient,
  repository: string,
  indexBytes: Uint8Array,
  signer: Signer,
): Promise<number> {
  const limit = pLimit(4);
  const outcomes = await Promise.all(
    instanceDigests(indexBytes, `index of ${repository}`).map((digest) =>
      limit(() => ensureSignature(client, repository, digest, signer)),
    ),
  );
  return outcomes.filter((o) => o === 'signed').length;
}

/** Whether every instance of the index has a `.sig` tag (HEAD requests only). */
export async function instancesSigned(
  client: RegistryClient,
  repository: string,
  indexBytes: Uint8Array,
): Promise<boolean> {
  const heads = await Promise.all(
    instanceDigests(indexBytes, `index of ${repository}`).map((digest) =>
      client.headManifest(repository, signatureTag(digest)),
    ),
  );
  return heads.every((h) => h !== undefined);
}
