import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Config } from '../config.ts';
import { PermanentError } from '../errors.ts';
import { Limits } from '../oci/limits.ts';
import { parseIndex } from '../oci/manifest-schema.ts';
import { Annotation } from '../oci/media-types.ts';
import { OciLayout } from '../oci/layout.ts';
import { registryClientFor, resolveImageReference } from '../oci/registry-from-config.ts';
import type { ImageReference } from '../oci/reference.ts';
import type { RegistryClient } from '../oci/registry-client.ts';
import { isOciLayout, packagesOfFiles, wantedFile } from '../vuln/image-layout.ts';
import { packagesOfRegistryImage } from '../vuln/image-registry.ts';
import type { InstalledPackage } from '../vuln/installed.ts';
import { readLayerFiles } from '../vuln/layer-files.ts';
import { archImages, type ArchImage, type ManifestStore } from './arch-images.ts';

/** One image of a diff: its platforms' layers and its packages. */
export interface ImageSide {
  /** `oci:<dir>[:ref]` or `host/repo@sha256:…`. */
  image: string;
  /** The digest the reference resolved to (an index, or a manifest). */
  digest: string;
  archs: ArchImage[];
  /** Every platform's packages; `arch` is the package's (`all` for arch-independent ones). */
  packages: InstalledPackage[];
  /** `spdx`: the image's SPDX attestation (kiln attaches one); `dpkg-status`: its layers. */
  packagesFrom: 'spdx' | 'dpkg-status';
}

export type SideConfig = Pick<Config, 'registry' | 'registryAuth' | 'insecureRegistries'>;

/**
 * Reads an image as `kiln scan` takes it: `oci:<dir>[:ref]` or a path is an OCI layout (its entry
 * named `ref`, else its only or first one); anything else an image reference (relative to
 * KILN_REGISTRY when it names no host).
 */
export async function readSide(target: string, config: SideConfig): Promise<ImageSide> {
  if (target.startsWith('oci:')) {
    const rest = target.slice(4);
    const m = /^(.*?):([^/:]+)$/.exec(rest);
    const dir = m?.[1] && (await isOciLayout(m[1])) ? m[1] : rest;
    return layoutSide(dir, dir === rest ? undefined : m?.[2]);
  }
  if (target.startsWith('.') || target.startsWith('/') || (await isOciLayout(target)))
    return layoutSide(target, undefined);
  const ref = resolveImageReference(target, config.registry);
  return registrySide(await registryClientFor(ref.host, config), ref);
}

async function layoutSide(dir: string, refName: string | undefined): Promise<ImageSide> {
  if (!(await isOciLayout(dir)))
    throw new PermanentError(`${dir}: not an OCI image layout (no oci-layout file)`);
  const layout = new OciLayout(path.resolve(dir));
  let index;
  try {
    index = parseIndex(await readFile(path.join(dir, 'index.json')), `${dir}/index.json`);
  } catch (cause) {
    throw new PermanentError(`${dir}: not an OCI image layout (index.json unreadable)`, { cause });
  }
  const root = refName
    ? index.manifests.find((m) => m.annotations?.[Annotation.refName] === refName)
    : index.manifests[0];
  if (!root)
    throw new PermanentError(
      refName
        ? `${dir}: no image named ${refName} in index.json`
        : `${dir}: index.json lists no image`,
    );
  const store: ManifestStore = {
    manifest: async (digest) => ({ bytes: await layout.readBlob(digest), mediaType: '' }),
    blob: (digest) => layout.readBlob(digest),
  };
  const image = `oci:${dir}${refName ? `:${refName}` : ''}`;
  const archs = await archImages(
    store,
    { digest: root.digest, bytes: await layout.readBlob(root.digest), mediaType: root.mediaType },
    image,
  );
  const packages: InstalledPackage[] = [];
  for (const a of archs) {
    const files = await readLayerFiles(
      a.layers.map((l) => ({
        digest: l.digest,
        mediaType: l.mediaType,
        open: () => createReadStream(layout.blobPath(l.digest)),
      })),
      wantedFile,
    );
    packages.push(...packagesOfFiles(files));
  }
  return {
    image,
    digest: root.digest,
    archs,
    packages: distinct(packages),
    packagesFrom: 'dpkg-status',
  };
}

async function registrySide(client: RegistryClient, ref: ImageReference): Promise<ImageSide> {
  const name = `${ref.host}/${ref.repository}`;
  const target = ref.digest ?? ref.tag ?? 'latest';
  const head = await client.getManifest(ref.repository, target);
  if (!head) throw new PermanentError(`${name}:${target} does not exist`);
  const pinned: ImageReference = { ...ref, digest: head.digest };
  const store: ManifestStore = {
    manifest: async (digest) => {
      const m = await client.getManifest(ref.repository, digest);
      if (!m) throw new PermanentError(`${name}@${head.digest}: manifest ${digest} is missing`);
      return m;
    },
    blob: async (digest, size) => {
      const b = await client.getBlob(ref.repository, digest, {
        maxBytes: Limits.configBytes,
        expectedSize: size,
      });
      if (!b) throw new PermanentError(`${name}@${head.digest}: blob ${digest} is missing`);
      return b;
    },
  };
  const image = `${name}@${head.digest}`;
  const archs = await archImages(store, head, image);
  // The SPDX attestation covers the whole image (every arch); without one, each arch's layers.
  const packages: InstalledPackage[] = [];
  let packagesFrom: ImageSide['packagesFrom'] = 'dpkg-status';
  for (const a of archs) {
    const read = await packagesOfRegistryImage(client, pinned, undefined, a.arch.split('/')[0]);
    packages.push(...read.packages);
    if (read.from === 'spdx') {
      packagesFrom = 'spdx';
      break;
    }
  }
  return { image, digest: head.digest, archs, packages: distinct(packages), packagesFrom };
}

/** One entry per name and arch: an SBOM lists an arch-independent package once per platform. */
function distinct(packages: InstalledPackage[]): InstalledPackage[] {
  return [...new Map(packages.map((p) => [`${p.name}\u0000${p.arch ?? ''}`, p])).values()];
}
