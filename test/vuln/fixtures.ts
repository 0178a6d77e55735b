import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { gzipLayer, writeTarLayer, type LayerEntry } from '../../src/oci/tar.ts';
import { OciLayout } from '../../src/oci/layout.ts';
import { MediaType } from '../../src/oci/media-types.ts';

/*
 * A feed in the Debian Security Tracker's real shape (`/tracker/data/json`: source → CVE →
 * {description, scope, debianbug, releases: {codename: {status, repositories, fixed_version,
 * urgency, nodsa, nodsa_reason}}}), and OCI layouts made by hand, as a non-kiln tool would.
 */
export function trackerFeed(): Record<string, unknown> {
  return {
    openssl: {
      'CVE-2026-1000': {
        description: 'Certificate handling flaw',
        scope: 'remote',
        debianbug: 1100001,
        releases: {
          trixie: {
            status: 'resolved',
            repositories: { trixie: '3.5.4-1~deb13u1', 'trixie-security': '3.5.4-1~deb13u2' },
            fixed_version: '3.5.4-1~deb13u2',
            urgency: 'high',
          },
          bookworm: {
            status: 'resolved',
            repositories: { bookworm: '3.0.17-1~deb12u2' },
            fixed_version: '3.0.17-1~deb12u3',
            urgency: 'high',
          },
          sid: {
            status: 'resolved',
            repositories: { sid: '3.5.5-1' },
            fixed_version: '3.5.5-1',
            urgency: 'high',
          },
        },
      },
      'CVE-2026-1001': {
        description: 'Never affected trixie',
        scope: 'local',
        releases: {
          trixie: {
            status: 'resolved',
            repositories: { trixie: '3.5.4-1~deb13u1' },
            fixed_version: '0',
            urgency: 'unimportant',
          },
        },
      },
      'CVE-2026-1002': {
        description: 'Fixed before the installed version',
        releases: {
          trixie: {
            status: 'resolved',
            repositories: { trixie: '3.5.4-1~deb13u1' },
            fixed_version: '3.5.1-1',
            urgency: 'medium',
          },
        },
      },
    },
    glibc: {
      'CVE-2026-2000': {
        description: 'No fix yet',
        releases: {
          trixie: {
            status: 'open',
            repositories: { trixie: '2.41-12' },
            urgency: 'low',
            nodsa: 'Minor issue',
            nodsa_reason: 'postponed',
          },
        },
      },
      'CVE-2026-2001': {
        description: 'Fixed in a point release not yet published',
        releases: {
          trixie: {
            status: 'resolved',
            repositories: { trixie: '2.41-12' },
            fixed_version: '2.41-12+deb13u1',
            urgency: 'medium**',
          },
        },
      },
    },
    zlib: {
      'CVE-2026-3000': {
        description: 'The epoch decides',
        releases: {
          trixie: {
            status: 'resolved',
            repositories: { trixie: '1:1.3.dfsg+really1.3.1-1' },
            fixed_version: '1.3.2-1',
            urgency: 'high',
          },
        },
      },
    },
    curl: {
      'CVE-2026-4000': {
        description: 'Not in the image',
        releases: { trixie: { status: 'open', urgency: 'high' } },
      },
    },
  };
}

/** A dpkg status file as debootstrap leaves it: binary packages, some with `Source:`. */
export const dpkgStatus = `Package: libssl3t64
Status: install ok installed
Priority: optional
Section: libs
Installed-Size: 7000
Maintainer: Debian OpenSSL Team <pkg-openssl-devel@alioth-lists.debian.net>
Architecture: amd64
Multi-Arch: same
Source: openssl
Version: 3.5.4-1~deb13u1
Depends: libc6 (>= 2.38), libzstd1 (>= 1.5.5)
Description: Secure Sockets Layer toolkit - shared libraries
 This package is part of the OpenSSL project's implementation.

Package: libc6
Status: install ok installed
Architecture: amd64
Source: glibc
Version: 2.41-12
Description: GNU C Library: Shared libraries

Package: zlib1g
Status: install ok installed
Architecture: amd64
Source: zlib (1:1.3.dfsg+really1.3.1-1)
Version: 1:1.3.dfsg+really1.3.1-1+b1
Description: compression library - runtime

Package: curl
Status: deinstall ok config-files
Architecture: amd64
Version: 8.14.1-2
Description: removed, its conffiles kept

Package: base-files
Status: install ok installed
Architecture: amd64
Version: 13.8
Description: Debian base system miscellaneous files
`;

export async function tempDir(prefix: string): Promise<string> {
  return mkdtemp(path.join(os.tmpdir(), `kiln-vuln-${prefix}-`));
}

const file = (p: string, text: string): LayerEntry => ({
  path: p,
  type: 'file',
  mode: 0o644,
  data: Buffer.from(text),
});

/**
 * An OCI layout whose index.json points straight at a manifest (as umoci and skopeo write them),
 * with one gzip layer per entry list; returns its folder.
 */
export async function writeLayout(
  dir: string,
  layers: LayerEntry[][],
  options: { asIndex?: boolean } = {},
): Promise<string> {
  const layout = await OciLayout.create(dir);
  const descriptors = [];
  const diffIds = [];
  for (const [i, entries] of layers.entries()) {
    const { tar, diffId } = await writeTarLayer(entries, { mtime: 0, what: `layer ${i}` });
    descriptors.push(await layout.writeBlob(await gzipLayer(tar), MediaType.layerGzip));
    diffIds.push(diffId);
  }
  const config = await layout.writeJson(
    { architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: diffIds } },
    MediaType.imageConfig,
  );
  const manifest = await layout.writeJson(
    { schemaVersion: 2, mediaType: MediaType.imageManifest, config, layers: descriptors },
    MediaType.imageManifest,
  );
  if (!options.asIndex) {
    await layout.setRoot(manifest, 'latest');
    return dir;
  }
  // As kiln's builders write it: the root is an image index of per-arch manifests.
  const other = await layout.writeJson(
    { schemaVersion: 2, mediaType: MediaType.imageManifest, config, layers: [] },
    MediaType.imageManifest,
  );
  const index = await layout.writeJson(
    {
      schemaVersion: 2,
      mediaType: MediaType.imageIndex,
      manifests: [
        { ...other, platform: { architecture: 'arm64', os: 'linux' } },
        { ...manifest, platform: { architecture: 'amd64', os: 'linux' } },
      ],
    },
    MediaType.imageIndex,
  );
  await layout.setRoot(index, 'latest');
  return dir;
}

/** A debootstrap-like rootfs: os-release through merged /usr, dpkg status; then a later layer. */
export function debootstrapLayers(): LayerEntry[][] {
  return [
    [
      { path: 'usr', type: 'directory', mode: 0o755 },
      { path: 'usr/lib', type: 'directory', mode: 0o755 },
      file(
        'usr/lib/os-release',
        'PRETTY_NAME="Debian GNU/Linux 13 (trixie)"\nVERSION_CODENAME=trixie\nID=debian\n',
      ),
      { path: 'etc', type: 'directory', mode: 0o755 },
      { path: 'etc/os-release', type: 'symlink', mode: 0o777, linkname: '../usr/lib/os-release' },
      file('etc/debian_version', '13.2\n'),
      { path: 'var', type: 'directory', mode: 0o755 },
      { path: 'var/lib', type: 'directory', mode: 0o755 },
      { path: 'var/lib/dpkg', type: 'directory', mode: 0o755 },
      file(
        'var/lib/dpkg/status',
        dpkgStatus.replace('Package: base-files', 'Package: removed-later'),
      ),
      file('var/lib/dpkg/status-old', 'Package: stale\nVersion: 1\n'),
    ],
    [
      // The next layer rewrites the status file (an upgrade) and whites out a file.
      file('var/lib/dpkg/status', dpkgStatus),
      file('var/lib/dpkg/.wh.status-old', ''),
    ],
  ];
}
