import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { debPurl } from '../../src/build/debian/image.ts';
import { spdxDocument } from '../../src/sbom/spdx.ts';
import { packagesOfLayout } from '../../src/vuln/image-layout.ts';
import { packagesOfSpdx } from '../../src/vuln/image-registry.ts';
import { tempDir, writeLayout } from './fixtures.ts';

const status = (name: string, version: string, source?: string) => ({
  path: `var/lib/dpkg/status.d/${name}`,
  type: 'file' as const,
  mode: 0o644,
  data: Buffer.from(
    `Package: ${name}\nVersion: ${version}\nArchitecture: amd64\n${source ? `Source: ${source}\n` : ''}Description: x\n`,
  ),
});

describe("an image's packages", () => {
  it('merges distroless status.d entries across layers, with whiteouts and opaque folders', async () => {
    const dir = await tempDir('layers');
    const file = (p: string, text = '') => ({
      path: p,
      type: 'file' as const,
      mode: 0o644,
      data: Buffer.from(text),
    });
    const layout = await writeLayout(path.join(dir, 'layout'), [
      [
        status('libssl3t64', '3.5.4-1~deb13u1', 'openssl'),
        status('gone', '1.0-1'),
        status('kept', '1.0-1'),
        file('usr/lib/os-release', 'VERSION_CODENAME=bookworm\n'),
      ],
      [
        // An update replaces one entry, a whiteout removes another.
        status('libssl3t64', '3.5.4-1~deb13u2', 'openssl'),
        file('var/lib/dpkg/status.d/.wh.gone'),
      ],
      [
        // An opaque folder hides everything lower layers put in it, not its own entries.
        file('usr/lib/.wh..wh..opq'),
        file('usr/lib/os-release-not', 'VERSION_CODENAME=sid\n'),
        status('libc6', '2.41-12+deb13u1', 'glibc'),
      ],
    ]);
    const image = await packagesOfLayout(layout);
    expect(image.packages.map((p) => [p.name, p.version, p.source, p.sourceVersion])).toEqual([
      ['kept', '1.0-1', 'kept', '1.0-1'],
      ['libc6', '2.41-12+deb13u1', 'glibc', '2.41-12+deb13u1'],
      ['libssl3t64', '3.5.4-1~deb13u2', 'openssl', '3.5.4-1~deb13u2'],
    ]);
    // The os-release is gone with the opaque folder: the release comes from the debNNuM versions.
    expect(image.release).toBe('trixie');
    expect(image.from).toBe('dpkg-status');
  });

  it('picks the platform asked for from a layout whose root is an image index', async () => {
    const dir = await tempDir('index');
    const layout = await writeLayout(
      path.join(dir, 'layout'),
      [[status('libssl3t64', '3.5.4-1~deb13u1', 'openssl')]],
      { asIndex: true },
    );
    const amd64 = await packagesOfLayout(layout, 'amd64');
    expect(amd64.packages.map((p) => p.name)).toEqual(['libssl3t64']);
    // The index lists arm64 first, and that manifest has no layers.
    expect((await packagesOfLayout(layout, 'arm64')).packages).toEqual([]);
    expect(amd64.digest).not.toBe((await packagesOfLayout(layout, 'arm64')).digest);
  });

  it('reads packages and their sources from an SPDX document as kiln writes it', () => {
    const doc = spdxDocument({
      name: 'python-3.13.5-r0',
      created: '2026-11-30T10:00:00Z',
      packages: [
        {
          name: 'libssl3t64',
          version: '3.5.4-1~deb13u1',
          arch: 'amd64',
          purl: debPurl('libssl3t64', '3.5.4-1~deb13u1', 'amd64'),
          sourcePackage: 'openssl',
        },
        {
          name: 'zlib1g',
          version: '1:1.3.dfsg+really1.3.1-1+b1',
          arch: 'amd64',
          purl: debPurl('zlib1g', '1:1.3.dfsg+really1.3.1-1+b1', 'amd64'),
          sourcePackage: 'zlib',
        },
        { name: 'dumb-init', version: '1.2.5', purl: 'pkg:github/Yelp/dumb-init@v1.2.5' },
      ],
    });
    expect(
      packagesOfSpdx(doc).map((p) => [p.name, p.version, p.arch, p.source, p.sourceVersion]),
    ).toEqual([
      ['libssl3t64', '3.5.4-1~deb13u1', 'amd64', 'openssl', '3.5.4-1~deb13u1'],
      ['zlib1g', '1:1.3.dfsg+really1.3.1-1+b1', 'amd64', 'zlib', '1:1.3.dfsg+really1.3.1-1'],
    ]);
  });
});
