import pLimit from 'p-limit';
import { OciLayout } from '../oci/layout.ts';
import { parseIndex, parseManifest } from '../oci/manifest-schema.ts';
import { MediaType, type Descriptor } from '../oci/media-types.ts';
import type { PushBlobOutcome, RegistryClient } from '../oci/registry-client.ts';

export interface PushArchOptions {
  /** A repository on the same registry to mount shared blobs from (e.g. a base image's). */
  mountFrom?: string;
  /** Blob uploads in flight at once. */
  concurrency?: number;
}

export interface PushArchResult {
  /** Digest of what was pushed: the arch manifest (or an index, with its children). */
  digest: string;
  /** Compressed size of config and layers. */
  size: number;
  blobs: Record<PushBlobOutcome, number>;
  /** Bytes of blobs actually uploaded (not skipped, not mounted). */
  bytesUploaded: number;
  manifestPushed: boolean;
}

/**
 * Pushes one arch's image from an OCI layout: config and layers (each HEAD-checked first, so a
 * re-run uploads nothing), then the manifest by digest, untagged. Called by each per-arch build
 * job; {@link publishImage} ties the arch manifests together later.
 */
export async function pushArchImage(
  client: RegistryClient,
  repository: string,
  layoutDir: string,
  manifest: Descriptor,
  options: PushArchOptions = {},
): Promise<PushArchResult> {
  const layout = new OciLayout(layoutDir);
  const result: PushArchResult = {
    digest: manifest.digest,
    size: 0,
    blobs: { exists: 0, mounted: 0, uploaded: 0 },
    bytesUploaded: 0,
    manifestPushed: false,
  };
  await pushTree(client, repository, layout, manifest, options, result);
  return result;
}

async function pushTree(
  client: RegistryClient,
  repository: string,
  layout: OciLayout,
  descriptor: Descriptor,
  options: PushArchOptions,
  result: PushArchResult,
): Promise<void> {
  const bytes = await layout.readBlob(descriptor.digest);
  const what = `manifest ${descriptor.digest} in ${layout.dir}`;
  if (
    descriptor.mediaType === MediaType.imageIndex ||
    descriptor.mediaType === MediaType.dockerManifestList
  ) {
    for (const child of parseIndex(bytes, what).manifests)
      await pushTree(client, repository, layout, child, options, result);
  } else {
    const parsed = parseManifest(bytes, what);
    const limit = pLimit(options.concurrency ?? 4);
    await Promise.all(
      [parsed.config, ...parsed.layers].map((blob) =>
        limit(async () => {
          const outcome = await client.pushBlob(
            repository,
            blob.digest,
            { open: () => layout.blobStream(blob.digest), size: blob.size },
            options.mountFrom ? { mountFrom: options.mountFrom } : {},
          );
          result.blobs[outcome]++;
          result.size += blob.size;
          if (outcome === 'uploaded') result.bytesUploaded += blob.size;
        }),
      ),
    );
  }
  if (!(await client.headManifest(repository, descriptor.digest))) {
    await client.putManifest(repository, descriptor.digest, bytes, descriptor.mediaType);
    result.manifestPushed = true;
  }
}
