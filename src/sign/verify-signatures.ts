import type { KeyObject } from 'node:crypto';
import { Limits } from '../oci/limits.ts';
import { parseIndex, parseManifest } from '../oci/manifest-schema.ts';
import { MediaType, type Descriptor } from '../oci/media-types.ts';
import { parseReference, type ImageReference } from '../oci/reference.ts';
import type { RegistryClient } from '../oci/registry-client.ts';
import { signatureAnnotation, signatureTag } from './cosign-objects.ts';
import { verifySignature } from './signer.ts';
import { parseSimpleSigning, simpleSigningType } from './simple-signing.ts';
import {
  notByKey,
  VerificationError,
  type IgnoredSignature,
  type VerifyOptions,
  type VerifyReport,
} from './verify-report.ts';

/**
 * What `cosign sign --recursive` signs and containers/image checks: a signature by the key of
 * every manifest the index lists, for the instance a client of that platform pulls.
 */
export async function checkInstances(
  client: RegistryClient,
  ref: ImageReference,
  digest: string,
  key: KeyObject,
  options: VerifyOptions,
  ignored: IgnoredSignature[],
): Promise<VerifyReport['instances']> {
  const index = await client.getManifest(ref.repository, digest);
  if (!index) throw new VerificationError(`${ref.host}/${ref.repository}@${digest} vanished`);
  const out: VerifyReport['instances'] = [];
  for (const m of parseIndex(index.bytes, `image index ${digest}`).manifests) {
    const platform = m.platform
      ? [m.platform.os, m.platform.architecture, m.platform.variant].filter(Boolean).join('/')
      : undefined;
    try {
      await checkSignatures(client, ref, m.digest, key, options, ignored);
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      throw new VerificationError(
        `arch manifest ${m.digest}${platform ? ` (${platform})` : ''} of ${digest}: ${reason} (containers/image checks the signature of the arch it pulls)`,
        { cause: error },
      );
    }
    out.push({ digest: m.digest, platform });
  }
  return out;
}

/** How many `.sig` layers of `digest` verify with the key; throws when none does, with every reason. */
export async function checkSignatures(
  client: RegistryClient,
  ref: ImageReference,
  digest: string,
  key: KeyObject,
  options: VerifyOptions,
  ignored: IgnoredSignature[],
): Promise<number> {
  const { repository } = ref;
  const tag = signatureTag(digest);
  const manifest = await client.getManifest(repository, tag);
  if (!manifest) throw new VerificationError(`${repository}@${digest} is not signed: no ${tag}`);
  const layers = parseManifest(manifest.bytes, `signature manifest ${tag}`).layers.filter(
    (l) => l.mediaType === MediaType.cosignSimpleSigning,
  );
  const reasons: string[] = [];
  let valid = 0;
  for (const layer of layers) {
    const rejected = await rejectSignatureLayer(client, ref, digest, layer, key, options);
    if (!rejected) {
      valid++;
      continue;
    }
    reasons.push(rejected.reason);
    ignored.push({ kind: 'signature', digest: layer.digest, manifest: digest, ...rejected });
  }
  if (valid === 0) {
    throw new VerificationError(
      `signature check failed for ${digest}: ${reasons.length > 0 ? reasons.join('; ') : 'no signature layers'}`,
    );
  }
  return valid;
}

/** Why one `.sig` layer is not a signature of `digest` by the key, or undefined when it is one. */
async function rejectSignatureLayer(
  client: RegistryClient,
  ref: ImageReference,
  digest: string,
  layer: Descriptor,
  key: KeyObject,
  options: VerifyOptions,
): Promise<{ reason: string; otherSigner: boolean } | undefined> {
  const reject = (reason: string, otherSigner = false) => ({ reason, otherSigner });
  const sig = layer.annotations?.[signatureAnnotation];
  if (!sig) return reject(`layer ${layer.digest} has no ${signatureAnnotation} annotation`);
  const payload = await client.getBlob(ref.repository, layer.digest, {
    maxBytes: Limits.signatureBytes,
    expectedSize: layer.size,
  });
  if (!payload) return reject(`payload ${layer.digest} is missing`);
  const parsed = parseSimpleSigning(payload);
  if (!parsed || parsed.critical.type !== simpleSigningType) {
    return reject(`payload ${layer.digest} is not a cosign simple-signing payload`);
  }
  const signed = parsed.critical.image['docker-manifest-digest'];
  if (signed !== digest) return reject(`signature payload is for ${signed}, not ${digest}`);
  if (!verifySignature(key, payload, Buffer.from(sig, 'base64'))) return reject(notByKey, true);
  const named = parsed.critical.identity['docker-reference'];
  if (options.repositoryMatch && !namesRepository(named, ref)) {
    return reject(
      `signature names ${named}, not ${ref.host}/${ref.repository} (--repository-match)`,
    );
  }
  return undefined;
}

/** Whether a signature's `docker-reference` (a repository, maybe with a tag) is `ref`'s repository. */
function namesRepository(dockerReference: string, ref: ImageReference): boolean {
  try {
    const named = parseReference(dockerReference);
    return named.host === ref.host && named.repository === ref.repository;
  } catch {
    return false;
  }
}
