import { z } from 'zod';
import { PermanentError } from '../errors.ts';
import { parseIndex, parseManifest } from '../oci/manifest-schema.ts';
import { MediaType } from '../oci/media-types.ts';

/** One layer as a manifest lists it: what `kiln diff` compares. */
export interface LayerRef {
  digest: string;
  /** Bytes as stored (compressed). */
  size: number;
  mediaType: string;
}

/** One platform's image of an index (or the image itself, when the root is a manifest). */
export interface ArchImage {
  /** `amd64`, `arm64`; `arm/v7` where the variant tells two images apart. */
  arch: string;
  /** The image manifest's digest. */
  manifest: string;
  layers: LayerRef[];
}

/** How a side reads what a digest names: a registry or a layout on disk. */
export interface ManifestStore {
  /** A manifest or index by digest. */
  manifest(digest: string): Promise<{ bytes: Buffer; mediaType: string }>;
  /** A small blob (an image config) by digest, its size bounded by the descriptor. */
  blob(digest: string, size: number): Promise<Buffer>;
}

const configSchema = z.object({ architecture: z.string(), variant: z.string().optional() });

const isIndex = (mediaType: string | undefined): boolean =>
  mediaType === MediaType.imageIndex || mediaType === MediaType.dockerManifestList;

/** arm64's variant is always v8: the name alone says it; other variants are kept. */
function archName(architecture: string, variant: string | undefined): string {
  return variant && !(architecture === 'arm64' && variant === 'v8')
    ? `${architecture}/${variant}`
    : architecture;
}

/**
 * The per-platform images under `root`: an index's entries (one nested index is followed; entries
 * of an unknown platform, such as BuildKit's attestation manifests, are skipped), or the manifest
 * itself with the architecture its config names.
 */
export async function archImages(
  store: ManifestStore,
  root: { digest: string; bytes: Buffer; mediaType: string },
  what: string,
): Promise<ArchImage[]> {
  if (!isIndex(root.mediaType) && !isIndex(mediaTypeField(root.bytes))) {
    const manifest = parseManifest(root.bytes, `${what}: manifest ${root.digest}`);
    const config = configSchema.safeParse(
      parseJsonOrUndefined(await store.blob(manifest.config.digest, manifest.config.size)),
    );
    if (!config.success)
      throw new PermanentError(`${what}: config ${manifest.config.digest} names no architecture`);
    return [
      {
        arch: archName(config.data.architecture, config.data.variant),
        manifest: root.digest,
        layers: manifest.layers.map(layerRef),
      },
    ];
  }
  const out: ArchImage[] = [];
  await collect(store, root, what, out, 0);
  if (out.length === 0) throw new PermanentError(`${what}: index ${root.digest} lists no image`);
  return out;
}

async function collect(
  store: ManifestStore,
  index: { digest: string; bytes: Buffer },
  what: string,
  out: ArchImage[],
  depth: number,
): Promise<void> {
  for (const entry of parseIndex(index.bytes, `${what}: index ${index.digest}`).manifests) {
    if (entry.platform?.os === 'unknown') continue;
    const child = await store.manifest(entry.digest);
    if (isIndex(entry.mediaType) || isIndex(child.mediaType)) {
      if (depth >= 1) throw new PermanentError(`${what}: indexes nested more than two deep`);
      await collect(store, { digest: entry.digest, bytes: child.bytes }, what, out, depth + 1);
      continue;
    }
    const manifest = parseManifest(child.bytes, `${what}: manifest ${entry.digest}`);
    if (!entry.platform)
      throw new PermanentError(`${what}: index entry ${entry.digest} has no platform`);
    const arch = archName(entry.platform.architecture, entry.platform.variant);
    if (out.some((a) => a.arch === arch))
      throw new PermanentError(`${what}: two images for ${arch}`);
    out.push({ arch, manifest: entry.digest, layers: manifest.layers.map(layerRef) });
  }
}

function layerRef(l: { digest: string; size: number; mediaType: string }): LayerRef {
  return { digest: l.digest, size: l.size, mediaType: l.mediaType };
}

function parseJsonOrUndefined(bytes: Buffer): unknown {
  try {
    return JSON.parse(bytes.toString('utf8'));
  } catch {
    return undefined;
  }
}

/** A layout's blobs carry no content type: a manifest or index says what it is in `mediaType`. */
function mediaTypeField(bytes: Buffer): string | undefined {
  const parsed = z.object({ mediaType: z.string() }).safeParse(parseJsonOrUndefined(bytes));
  return parsed.success ? parsed.data.mediaType : undefined;
}
