import { digestHex, sha256Digest } from '../oci/digest.ts';
import {
  MediaType,
  type Descriptor,
  type ImageIndex,
  type ImageManifest,
} from '../oci/media-types.ts';

/** cosign's layer annotation holding the base64 DER signature of the layer's payload. */
export const signatureAnnotation = 'dev.cosignproject.cosign/signature';
/** The predicate type of a DSSE layer in a `.att` manifest, as cosign annotates it. */
export const predicateTypeAnnotation = 'predicateType';

export const BundleAnnotation = {
  content: 'dev.sigstore.bundle.content',
  predicateType: 'dev.sigstore.bundle.predicateType',
} as const;

/** `sha256-<hex>.sig`: where cosign looks for an image's signatures. */
export function signatureTag(digest: string): string {
  return `sha256-${digestHex(digest)}.sig`;
}

/** `sha256-<hex>.att`: where cosign looks for an image's attestations. */
export function attestationTag(digest: string): string {
  return `sha256-${digestHex(digest)}.att`;
}

/** `sha256-<hex>`: the distribution spec's referrers tag schema, for registries without the API. */
export function referrersTag(digest: string): string {
  return `sha256-${digestHex(digest)}`;
}

/** Tags kiln and cosign use for signatures, attestations, SBOMs and referrers, never image versions. */
export function isSupplementTag(tag: string): boolean {
  return /^sha256-[a-f0-9]{64}(\.[a-z]+)?$/.test(tag);
}

export interface Blob {
  descriptor: Descriptor;
  bytes: Buffer;
}

/**
 * The `.sig` / `.att` manifest cosign writes: an OCI image manifest whose config is an image
 * config listing the layers as diff_ids, with zero times, so the same layers give the same bytes.
 */
export function cosignManifest(layers: Descriptor[]): { manifest: Blob; config: Blob } {
  const configBytes = Buffer.from(
    JSON.stringify({
      architecture: '',
      created: '0001-01-01T00:00:00Z',
      history: [{ created: '0001-01-01T00:00:00Z' }],
      os: '',
      rootfs: { type: 'layers', diff_ids: layers.map((l) => l.digest) },
      config: {},
    }),
  );
  const config: Descriptor = {
    mediaType: MediaType.imageConfig,
    size: configBytes.length,
    digest: sha256Digest(configBytes),
  };
  const manifest: ImageManifest = {
    schemaVersion: 2,
    mediaType: MediaType.imageManifest,
    config,
    layers,
  };
  const bytes = Buffer.from(JSON.stringify(manifest));
  return {
    manifest: {
      descriptor: {
        mediaType: MediaType.imageManifest,
        size: bytes.length,
        digest: sha256Digest(bytes),
      },
      bytes,
    },
    config: { descriptor: config, bytes: configBytes },
  };
}

/** The OCI empty descriptor (`{}`), the config of artifact manifests such as Sigstore bundles. */
export const emptyJson: Blob = (() => {
  const bytes = Buffer.from('{}');
  return {
    descriptor: { mediaType: MediaType.emptyJson, size: 2, digest: sha256Digest(bytes) },
    bytes,
  };
})();

/** A Sigstore bundle referrer manifest (cosign's BUNDLE_SPEC): one bundle layer, subject = the image. */
export function bundleManifest(
  bundle: Blob,
  subject: Descriptor,
  annotations: Record<string, string>,
): Blob {
  const manifest: ImageManifest = {
    schemaVersion: 2,
    mediaType: MediaType.imageManifest,
    artifactType: MediaType.sigstoreBundle,
    config: emptyJson.descriptor,
    layers: [bundle.descriptor],
    subject: { mediaType: subject.mediaType, digest: subject.digest, size: subject.size },
    annotations,
  };
  const bytes = Buffer.from(JSON.stringify(manifest));
  return {
    descriptor: {
      mediaType: MediaType.imageManifest,
      size: bytes.length,
      digest: sha256Digest(bytes),
    },
    bytes,
  };
}

export function referrersIndex(manifests: Descriptor[]): Buffer {
  const index: ImageIndex = { schemaVersion: 2, mediaType: MediaType.imageIndex, manifests };
  return Buffer.from(JSON.stringify(index));
}
