import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { PermanentError } from '../errors.ts';
import { parseIndex, parseManifest } from '../oci/manifest-schema.ts';
import { MediaType } from '../oci/media-types.ts';
import { OciLayout } from '../oci/layout.ts';
import { parseDpkgStatus, type InstalledPackage } from './installed.ts';
import { fileAt, readLayerFiles, type KeptFile, type LayerSource } from './layer-files.ts';
import { codenameOfDebianVersion, codenameOfVersionSuffix, isKnownRelease } from './releases.ts';

/** What a scan reads from an image. */
export interface ImagePackages {
  /** `oci:<dir>` or `host/repo@sha256:…`. */
  image: string;
  /** The image manifest scanned (one platform). */
  digest: string;
  /** Bytes of its layers as stored (compressed). */
  size: number;
  packages: InstalledPackage[];
  /** `dpkg-status` (status.d and status files) or `spdx` (the SBOM attestation). */
  from: 'dpkg-status' | 'spdx';
  /** The Debian release codename, when the image says (os-release, debian_version) or its versions do. */
  release: string | undefined;
}

const statusDir = 'var/lib/dpkg/status.d/';
/** The files a scan reads from an image's layers. */
export const wantedFile = (p: string): boolean =>
  p === 'var/lib/dpkg/status' ||
  (p.startsWith(statusDir) &&
    !p.endsWith('.md5sums') &&
    !p.slice(statusDir.length).includes('/')) ||
  p === 'etc/os-release' ||
  p === 'usr/lib/os-release' ||
  p === 'etc/debian_version';

/** Packages from the merged layers' dpkg status: `status.d/*` (distroless) and `status`. */
export function packagesOfFiles(files: Map<string, KeptFile>): InstalledPackage[] {
  const byName = new Map<string, InstalledPackage>();
  const add = (text: string): void => {
    for (const p of parseDpkgStatus(text)) byName.set(`${p.name}:${p.arch ?? ''}`, p);
  };
  const status = fileAt(files, 'var/lib/dpkg/status');
  if (status) add(status.toString('utf8'));
  for (const [p, f] of [...files.entries()].sort(([a], [b]) => a.localeCompare(b)))
    if (p.startsWith(statusDir) && f.kind === 'file') add(f.data.toString('utf8'));
  return [...byName.values()].sort((a, b) => a.name.localeCompare(b.name));
}

/** The release an image names in os-release or debian_version, else the one its versions name. */
export function releaseOfFiles(
  files: Map<string, KeptFile>,
  packages: InstalledPackage[],
): string | undefined {
  const osRelease = (
    fileAt(files, 'etc/os-release') ?? fileAt(files, 'usr/lib/os-release')
  )?.toString('utf8');
  const codename = osRelease && /^VERSION_CODENAME=["']?([a-z]+)["']?\s*$/m.exec(osRelease)?.[1];
  if (codename && isKnownRelease(codename)) return codename;
  const debianVersion = fileAt(files, 'etc/debian_version')?.toString('utf8');
  const fromVersion = debianVersion && codenameOfDebianVersion(debianVersion);
  if (fromVersion) return fromVersion;
  return releaseOfVersions(packages);
}

/** The release most `debNNuM` versions name (security and point-release updates carry one). */
export function releaseOfVersions(packages: InstalledPackage[]): string | undefined {
  const counts = new Map<string, number>();
  for (const p of packages) {
    const c = codenameOfVersionSuffix(p.version);
    if (c) counts.set(c, (counts.get(c) ?? 0) + 1);
  }
  return [...counts.entries()].sort((a, b) => b[1] - a[1])[0]?.[0];
}

/** Whether `dir` is an OCI image layout (it has `oci-layout` and `index.json`). */
export async function isOciLayout(dir: string): Promise<boolean> {
  const marker = await stat(path.join(dir, 'oci-layout')).catch(() => undefined);
  return marker?.isFile() === true;
}

/**
 * Reads an OCI layout's image (the manifest for `arch`, else the first, when the root is an
 * index) and the packages dpkg recorded in its layers.
 */
export async function packagesOfLayout(dir: string, arch?: string): Promise<ImagePackages> {
  const layout = new OciLayout(dir);
  let index;
  try {
    index = parseIndex(await readFile(path.join(dir, 'index.json')), `${dir}/index.json`);
  } catch (cause) {
    throw new PermanentError(`${dir}: not an OCI image layout (index.json unreadable)`, { cause });
  }
  let descriptor = index.manifests[0];
  if (!descriptor) throw new PermanentError(`${dir}: index.json lists no image`);
  // The root may be an image index (kiln's layouts) or a manifest (umoci's, skopeo's).
  for (let depth = 0; depth < 2 && isIndexType(descriptor.mediaType); depth++) {
    const inner = parseIndex(
      await layout.readBlob(descriptor.digest),
      `index ${descriptor.digest}`,
    );
    const pick =
      inner.manifests.find((m) => arch && m.platform?.architecture === arch) ??
      inner.manifests.find((m) => !m.platform || m.platform.os === 'linux');
    if (!pick)
      throw new PermanentError(
        `${dir}: index ${descriptor.digest} has no image for ${arch ?? 'linux'}`,
      );
    descriptor = pick;
  }
  const manifest = parseManifest(
    await layout.readBlob(descriptor.digest),
    `manifest ${descriptor.digest}`,
  );
  const layers: LayerSource[] = manifest.layers.map((l) => ({
    digest: l.digest,
    mediaType: l.mediaType,
    open: () => createReadStream(layout.blobPath(l.digest)),
  }));
  const files = await readLayerFiles(layers, wantedFile);
  const packages = packagesOfFiles(files);
  return {
    image: `oci:${dir}`,
    digest: descriptor.digest,
    size: manifest.layers.reduce((n, l) => n + l.size, 0),
    packages,
    from: 'dpkg-status',
    release: releaseOfFiles(files, packages),
  };
}

function isIndexType(mediaType: string): boolean {
  return mediaType === MediaType.imageIndex || mediaType === MediaType.dockerManifestList;
}
