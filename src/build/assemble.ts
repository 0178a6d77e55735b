import { OciLayout } from '../oci/layout.ts';
import { LayoutSchema, type ParsedDescriptor } from '../oci/manifest-schema.ts';
import { Annotation, MediaType, platformOf, type Descriptor } from '../oci/media-types.ts';

/*
 * External tools write OCI layouts in their own shapes (buildah: one manifest per ref; BuildKit
 * and apko: an index at the root). kiln's contract is one shape: the layout's root is an image
 * index over the arch manifests, each with its platform, carrying kiln's annotations.
 */

function toDescriptor(d: ParsedDescriptor): Descriptor {
  const out: Descriptor = { mediaType: d.mediaType, digest: d.digest, size: d.size };
  if (d.platform) out.platform = d.platform;
  return out;
}

function samePlatform(arch: string, p: ParsedDescriptor['platform']): boolean {
  if (!p) return false;
  const want = platformOf(arch);
  return (
    want.os === p.os &&
    want.architecture === p.architecture &&
    (want.variant ?? '') === (p.variant ?? want.variant ?? '')
  );
}

/** Manifests written under one ref per arch (buildah `oci:<dir>:<arch>`). */
export async function manifestsByRef(
  layoutDir: string,
  archs: readonly string[],
): Promise<Map<string, Descriptor>> {
  const layout = new OciLayout(layoutDir);
  const index = LayoutSchema.index.parse(await layout.readIndex());
  const out = new Map<string, Descriptor>();
  for (const arch of archs) {
    const entry = index.manifests.find((m) => m.annotations?.[Annotation.refName] === arch);
    if (!entry) throw new Error(`the build wrote no image for ${arch} into ${layoutDir}`);
    out.set(arch, { ...toDescriptor(entry), platform: platformOf(arch) });
  }
  return out;
}

/** Manifests under the layout's root entry, an index or a single manifest (BuildKit, apko). */
export async function manifestsUnderRoot(
  layoutDir: string,
  archs: readonly string[],
): Promise<Map<string, Descriptor>> {
  const layout = new OciLayout(layoutDir);
  const root = LayoutSchema.index.parse(await layout.readIndex()).manifests;
  let candidates: ParsedDescriptor[] = [];
  for (const entry of root) {
    if (
      entry.mediaType === MediaType.imageIndex ||
      entry.mediaType === MediaType.dockerManifestList
    ) {
      candidates.push(...LayoutSchema.index.parse(await layout.readJson(entry.digest)).manifests);
    } else {
      candidates.push(entry);
    }
  }
  // BuildKit's attestation manifests ride along in the index; they are not images.
  candidates = candidates.filter((c) => !c.annotations?.['vnd.docker.reference.type']);
  const out = new Map<string, Descriptor>();
  for (const arch of archs) {
    const entry =
      candidates.find((c) => samePlatform(arch, c.platform)) ??
      (archs.length === 1 && candidates.length === 1 ? candidates[0] : undefined);
    if (!entry) throw new Error(`the build wrote no image for ${arch} into ${layoutDir}`);
    out.set(arch, { ...toDescriptor(entry), platform: platformOf(arch) });
  }
  return out;
}

/** Writes kiln's index over the arch manifests and makes it the layout's root, tagged `refName`. */
export async function writeRootIndex(
  layoutDir: string,
  manifests: ReadonlyMap<string, Descriptor>,
  annotations: Record<string, string>,
  refName: string,
): Promise<Descriptor> {
  const layout = new OciLayout(layoutDir);
  const index = {
    schemaVersion: 2 as const,
    mediaType: MediaType.imageIndex,
    manifests: [...manifests.values()],
    ...(Object.keys(annotations).length > 0 ? { annotations } : {}),
  };
  const descriptor = await layout.writeJson(index, MediaType.imageIndex);
  await layout.setRoot(descriptor, refName);
  return descriptor;
}
