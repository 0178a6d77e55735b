import { canonicalJson, sha256Digest } from '../oci/digest.ts';
import {
  Annotation,
  MediaType,
  platformOf,
  type Descriptor,
  type ImageIndex,
} from '../oci/media-types.ts';
import type { BuildRequest } from '../model/build-request.ts';
import type { BuildResult } from '../model/build-result.ts';

/** The image index over the arch manifests, with kiln's annotations; canonical JSON, so deterministic. */
export function assembleIndex(
  request: BuildRequest,
  archResults: BuildResult[],
  created: string,
): { bytes: Buffer; descriptor: Descriptor } {
  const manifests = [...archResults]
    .sort((a, b) => a.arch.localeCompare(b.arch))
    .map((r) => ({
      mediaType: r.manifest.mediaType,
      digest: r.manifest.digest,
      size: r.manifest.size,
      platform: r.manifest.platform ?? platformOf(r.arch),
    }));
  const annotations: Record<string, string> = {
    [Annotation.version]: request.version,
    [Annotation.epoch]: String(request.epoch),
    [Annotation.created]: created,
    [Annotation.inputsDigest]: request.inputsDigest,
    [Annotation.recipe]: request.recipe,
  };
  if (request.upstream.url) annotations[Annotation.source] = request.upstream.url;
  if (request.upstream.tag) annotations[Annotation.revision] = request.upstream.tag;
  if (request.upstream.releasedAt)
    annotations[Annotation.upstreamReleasedAt] = request.upstream.releasedAt;
  const index: ImageIndex = {
    schemaVersion: 2,
    mediaType: MediaType.imageIndex,
    manifests,
    annotations,
  };
  const bytes = Buffer.from(canonicalJson(index));
  return {
    bytes,
    descriptor: {
      mediaType: MediaType.imageIndex,
      digest: sha256Digest(bytes),
      size: bytes.length,
    },
  };
}
