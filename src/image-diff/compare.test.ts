import { describe, expect, it } from 'vitest';
import type { InstalledPackage } from '../vuln/installed.ts';
import type { ArchImage } from './arch-images.ts';
import { compareImages, comparePackages } from './compare.ts';
import type { ImageSide } from './read-side.ts';

const p = (name: string, version: string, arch: string): InstalledPackage => ({
  name,
  version,
  arch,
  source: name,
  sourceVersion: version,
});
const layer = (n: number, size: number) => ({
  digest: `sha256:${String(n).repeat(64).slice(0, 64)}`,
  size,
  mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip',
});
const arch = (name: string, manifest: string, layers: ArchImage['layers']): ArchImage => ({
  arch: name,
  manifest,
  layers,
});
const side = (digest: string, archs: ArchImage[], packages: InstalledPackage[]): ImageSide => ({
  image: `r/x@${digest}`,
  digest,
  archs,
  packages,
  packagesFrom: 'spdx',
});

describe('comparePackages', () => {
  it('groups one change across archs and keeps per-arch differences apart', () => {
    const d = comparePackages(
      [
        p('libc6', '1', 'amd64'),
        p('libc6', '1', 'arm64'),
        p('tzdata', 'a', 'all'),
        p('old', '1', 'amd64'),
      ],
      [
        p('libc6', '2', 'amd64'),
        p('libc6', '3', 'arm64'),
        p('tzdata', 'a', 'all'),
        p('new', '5', 'arm64'),
      ],
    );
    expect(d).toEqual({
      added: [{ name: 'new', version: '5', archs: ['arm64'] }],
      removed: [{ name: 'old', version: '1', archs: ['amd64'] }],
      changed: [
        { name: 'libc6', from: '1', to: '2', archs: ['amd64'] },
        { name: 'libc6', from: '1', to: '3', archs: ['arm64'] },
      ],
      unchanged: 1,
    });
  });

  it('a package that moves between arch and all is removed and added', () => {
    const d = comparePackages([p('x', '1', 'amd64')], [p('x', '1', 'all')]);
    expect([d.added.length, d.removed.length, d.changed.length]).toEqual([1, 1, 0]);
  });
});

describe('compareImages', () => {
  it('layers added, removed and shared per arch, bytes to pull, an arch on one side only', () => {
    const a = side('sha256:a', [arch('amd64', 'm1', [layer(1, 100), layer(2, 50)])], []);
    const b = side(
      'sha256:b',
      [arch('amd64', 'm2', [layer(1, 100), layer(3, 70)]), arch('arm64', 'm3', [layer(4, 30)])],
      [],
    );
    const d = compareImages(a, b);
    expect(d.identical).toBe(false);
    expect(
      d.archs.map((x) => [
        x.arch,
        x.layers.shared,
        x.layers.added.length,
        x.layers.removed.length,
        x.bytesDelta,
        x.bytesToPull,
      ]),
    ).toEqual([
      ['amd64', 1, 1, 1, 20, 70],
      ['arm64', 0, 1, 0, 30, 30],
    ]);
    expect(d.archs[1]?.a).toBeUndefined();
  });

  it('the same manifests and packages are identical, whatever the index digest', () => {
    const archs = [arch('amd64', 'm1', [layer(1, 100)])];
    const d = compareImages(
      side('sha256:a', archs, [p('x', '1', 'amd64')]),
      side('sha256:b', archs, [p('x', '1', 'amd64')]),
    );
    expect(d.identical).toBe(true);
    expect(d.archs[0]).toMatchObject({ sameManifest: true, bytesDelta: 0, bytesToPull: 0 });
  });
});
