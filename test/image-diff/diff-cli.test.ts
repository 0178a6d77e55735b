import path from 'node:path';
import { execa } from 'execa';
import { beforeAll, describe, expect, it } from 'vitest';
import { debPurl } from '../../src/build/debian/image.ts';
import type { BuildPackage } from '../../src/model/build-result.ts';
import { parseIndex, parseManifest } from '../../src/oci/manifest-schema.ts';
import type { LayerEntry } from '../../src/oci/tar.ts';
import { publishImage } from '../../src/publish/index.ts';
import { testRegistryHost, uniqueName } from '../helpers/stack.ts';
import { makeLayout, makeRequest, newSigner, pushArchs, registry } from '../publish/fixtures.ts';
import { debootstrapLayers, dpkgStatus, tempDir, writeLayout } from '../vuln/fixtures.ts';

const kiln = path.resolve('bin/kiln.js');
const env = { KILN_LOG_LEVEL: 'silent', NO_COLOR: '1', KILN_REGISTRY: '' };
const diff = (...args: string[]) =>
  execa('node', [kiln, 'diff', ...args], { env, reject: false, timeout: 120_000 });

const pkg = (name: string, version: string, arch: string, source: string): BuildPackage => ({
  name,
  version,
  arch,
  purl: debPurl(name, version, arch),
  sourcePackage: source,
  supplier: 'Debian',
});

/** What the two published images hold: a nano update (openssl fixed, zlib gone, zstd in). */
const before = (arch: string) => [
  pkg('libssl3t64', '3.5.4-1~deb13u1', arch, 'openssl'),
  pkg('libc6', '2.41-12', arch, 'glibc'),
  pkg('zlib1g', '1:1.3.dfsg+really1.3.1-1+b1', arch, 'zlib'),
  pkg('tzdata', '2025b-4', 'all', 'tzdata'),
];
const after = (arch: string) => [
  pkg('libssl3t64', '3.5.4-1~deb13u2', arch, 'openssl'),
  pkg('libc6', '2.41-12', arch, 'glibc'),
  pkg('libzstd1', '1.5.7+dfsg-1', arch, 'libzstd'),
  pkg('tzdata', '2025b-4', 'all', 'tzdata'),
];

interface DiffJson {
  identical: boolean;
  a: { image: string; digest: string; packagesFrom: string; archs: string[] };
  b: { image: string; digest: string; packagesFrom: string; archs: string[] };
  packages: {
    added: { name: string; version: string; archs: string[] }[];
    removed: { name: string; version: string; archs: string[] }[];
    changed: { name: string; from: string; to: string; archs: string[] }[];
    unchanged: number;
  };
  archs: {
    arch: string;
    a?: { manifest: string; layers: number; bytes: number };
    b?: { manifest: string; layers: number; bytes: number };
    sameManifest: boolean;
    layers: {
      added: { digest: string; size: number }[];
      removed: { digest: string; size: number }[];
      shared: number;
      sharedBytes: number;
    };
    bytesDelta: number;
    bytesToPull: number;
  }[];
}

/** The JSON with what changes from run to run (digests, names, sizes) replaced by its kind. */
function shape(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(shape);
  if (value && typeof value === 'object')
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, shape(v)]));
  if (typeof value === 'string')
    return /^sha256:[a-f0-9]{64}$/.test(value)
      ? '<digest>'
      : value.includes('@')
        ? '<image>'
        : value;
  return value;
}

describe('kiln diff of two published images (a real process, the real registry)', () => {
  const repository = uniqueName('kiln/diff');
  const refA = () => `${testRegistryHost()}/${repository}:3.13.5-r0`;
  const refB = () => `${testRegistryHost()}/${repository}:3.13.5-r1`;
  /** Per arch, the digests of the layer each image has alone (makeLayout's seeded layer). */
  const ownLayer = new Map<string, { a: string; b: string }>();
  const archs = ['amd64', 'arm64'];

  beforeAll(async () => {
    const client = registry();
    const signer = newSigner();
    for (const [seed, epoch, packages] of [
      ['diff-a', 0, before],
      ['diff-b', 1, after],
    ] as const) {
      const { layoutDir, images } = await makeLayout(archs, seed);
      const results = (await pushArchs(client, repository, layoutDir, images, '3.13.5')).map(
        (r) => ({ ...r, packages: packages(r.arch) }),
      );
      await publishImage({
        client,
        repository,
        request: makeRequest(repository, '3.13.5', [`3.13.5-r${epoch}`], { epoch }),
        archResults: results,
        signer,
      });
      for (const r of results) {
        const m = await client.getManifest(repository, r.manifest.digest);
        const own = m && parseManifest(m.bytes, 'manifest').layers[1]?.digest;
        const entry = ownLayer.get(r.arch) ?? { a: '', b: '' };
        ownLayer.set(r.arch, { ...entry, [seed === 'diff-a' ? 'a' : 'b']: own ?? '' });
      }
    }
  });

  it('--json names the changed package versions and the changed layers of each arch', async () => {
    const r = await diff(refA(), refB(), '--json');
    expect(r.stderr).toBe('');
    expect(r.exitCode).toBe(0);
    const d = JSON.parse(r.stdout) as DiffJson;
    expect(d.identical).toBe(false);
    expect(d.a).toMatchObject({ packagesFrom: 'spdx', archs });
    expect(d.b).toMatchObject({ packagesFrom: 'spdx', archs });
    const index = await registry().getManifest(repository, '3.13.5-r1');
    expect(d.b.digest).toBe(index?.digest);
    expect(d.packages).toEqual({
      added: [{ name: 'libzstd1', version: '1.5.7+dfsg-1', archs }],
      removed: [{ name: 'zlib1g', version: '1:1.3.dfsg+really1.3.1-1+b1', archs }],
      changed: [{ name: 'libssl3t64', from: '3.5.4-1~deb13u1', to: '3.5.4-1~deb13u2', archs }],
      // libc6 on two archs, tzdata (arch all) once
      unchanged: 3,
    });
    const published = parseIndex(index?.bytes ?? Buffer.from('{}'), 'index');
    expect(d.archs.map((x) => x.arch)).toEqual(archs);
    for (const x of d.archs) {
      const own = ownLayer.get(x.arch);
      expect(x.layers.added.map((l) => l.digest)).toEqual([own?.b]);
      expect(x.layers.removed.map((l) => l.digest)).toEqual([own?.a]);
      expect(x.layers).toMatchObject({ shared: 1, sharedBytes: 4096 });
      expect(x.b?.manifest).toBe(
        published.manifests.find((m) => m.platform?.architecture === x.arch)?.digest,
      );
      expect(x).toMatchObject({ sameManifest: false, bytesDelta: 0, bytesToPull: 4096 });
      expect(x.a).toMatchObject({ layers: 2, bytes: 8192 });
    }
    // The shape of the JSON, one arch shown (the other has the same keys).
    expect(shape({ ...d, archs: d.archs.slice(0, 1) })).toMatchInlineSnapshot(`
      {
        "a": {
          "archs": [
            "amd64",
            "arm64",
          ],
          "digest": "<digest>",
          "image": "<image>",
          "packages": 7,
          "packagesFrom": "spdx",
        },
        "archs": [
          {
            "a": {
              "bytes": 8192,
              "layers": 2,
              "manifest": "<digest>",
            },
            "arch": "amd64",
            "b": {
              "bytes": 8192,
              "layers": 2,
              "manifest": "<digest>",
            },
            "bytesDelta": 0,
            "bytesToPull": 4096,
            "layers": {
              "added": [
                {
                  "digest": "<digest>",
                  "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                  "size": 4096,
                },
              ],
              "removed": [
                {
                  "digest": "<digest>",
                  "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                  "size": 4096,
                },
              ],
              "shared": 1,
              "sharedBytes": 4096,
            },
            "sameManifest": false,
          },
        ],
        "b": {
          "archs": [
            "amd64",
            "arm64",
          ],
          "digest": "<digest>",
          "image": "<image>",
          "packages": 7,
          "packagesFrom": "spdx",
        },
        "identical": false,
        "packages": {
          "added": [
            {
              "archs": [
                "amd64",
                "arm64",
              ],
              "name": "libzstd1",
              "version": "1.5.7+dfsg-1",
            },
          ],
          "changed": [
            {
              "archs": [
                "amd64",
                "arm64",
              ],
              "from": "3.5.4-1~deb13u1",
              "name": "libssl3t64",
              "to": "3.5.4-1~deb13u2",
            },
          ],
          "removed": [
            {
              "archs": [
                "amd64",
                "arm64",
              ],
              "name": "zlib1g",
              "version": "1:1.3.dfsg+really1.3.1-1+b1",
            },
          ],
          "unchanged": 3,
        },
      }
    `);
  });

  it('prints the changes as text; an image against itself is identical', async () => {
    const r = await diff(refA(), refB());
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toContain('packages: 1 added, 1 removed, 1 changed, 3 unchanged');
    expect(r.stdout).toContain('~ libssl3t64 3.5.4-1~deb13u1 → 3.5.4-1~deb13u2 (amd64, arm64)');
    expect(r.stdout).toContain('+ libzstd1 1.5.7+dfsg-1 (amd64, arm64)');
    expect(r.stdout).toContain('- zlib1g 1:1.3.dfsg+really1.3.1-1+b1 (amd64, arm64)');
    expect(r.stdout).toMatch(/^amd64\s+2 · 8\.0 KiB\s+2 · 8\.0 KiB\s+1\s+1\s+1\s+0 B\s+4\.0 KiB$/m);
    const own = ownLayer.get('arm64');
    expect(r.stdout).toContain(`arm64 + ${own?.b.slice(7, 19)} 4.0 KiB`);

    const same = await diff(
      refA(),
      `${testRegistryHost()}/${repository}@${(await registry().getManifest(repository, '3.13.5-r0'))?.digest}`,
    );
    expect(same.exitCode).toBe(0);
    expect(same.stdout).toMatch(/\nidentical$/);
  });

  it('exits 1 naming a missing image, 2 for a missing argument', async () => {
    const missing = await diff(refA(), `${testRegistryHost()}/${repository}:9.9.9-r0`);
    expect(missing.exitCode).toBe(1);
    expect(missing.stderr).toContain(
      `kiln diff: ${testRegistryHost()}/${repository}:9.9.9-r0 does not exist`,
    );
    const oneArg = await diff(refA());
    expect(oneArg.exitCode).toBe(2);
  });
});

describe('kiln diff from dpkg status in the layers', () => {
  const status = (text: string): LayerEntry[] => [
    { path: 'var/lib/dpkg/status', type: 'file', mode: 0o644, data: Buffer.from(text) },
  ];

  it('reads each side from its layers (a layout, a registry image without SBOM) and lists what the later layer changed', async () => {
    const dir = await tempDir('diff');
    const a = await writeLayout(path.join(dir, 'a'), debootstrapLayers());
    const upgraded = dpkgStatus
      .replace('Version: 3.5.4-1~deb13u1', 'Version: 3.5.4-1~deb13u2')
      .replace(/Package: zlib1g\n(?:.+\n)+\n/, '');
    const b = await writeLayout(path.join(dir, 'b'), [...debootstrapLayers(), status(upgraded)]);
    const r = await diff(`oci:${a}:latest`, b, '--json');
    expect(r.stderr).toBe('');
    expect(r.exitCode).toBe(0);
    const d = JSON.parse(r.stdout) as DiffJson;
    expect(d.a).toMatchObject({
      image: `oci:${a}:latest`,
      packagesFrom: 'dpkg-status',
      archs: ['amd64'],
    });
    expect(d.packages).toMatchObject({
      added: [],
      removed: [{ name: 'zlib1g', version: '1:1.3.dfsg+really1.3.1-1+b1', archs: ['amd64'] }],
      changed: [
        { name: 'libssl3t64', from: '3.5.4-1~deb13u1', to: '3.5.4-1~deb13u2', archs: ['amd64'] },
      ],
      unchanged: 2,
    });
    const [amd64] = d.archs;
    expect(amd64?.layers).toMatchObject({ shared: 2, removed: [] });
    expect(amd64?.layers.added).toHaveLength(1);
    expect(amd64?.bytesToPull).toBe(amd64?.layers.added[0]?.size);

    // An image kiln did not build (no SPDX attestation): its layers are read from the registry.
    const ref = `${testRegistryHost()}/${uniqueName('other/debian')}:trixie`;
    await execa('skopeo', [
      'copy',
      '--dest-tls-verify=false',
      `oci:${a}:latest`,
      `docker://${ref}`,
    ]);
    const foreign = await diff(ref, b, '--json');
    expect(foreign.stderr).toBe('');
    const f = JSON.parse(foreign.stdout) as DiffJson;
    expect(f.a).toMatchObject({ packagesFrom: 'dpkg-status', archs: ['amd64'] });
    expect(f.packages).toEqual(d.packages);
    expect(f.archs[0]?.layers.added).toEqual(amd64?.layers.added);

    const notLayout = await diff(`oci:${path.join(dir, 'nothing')}`, b);
    expect(notLayout.exitCode).toBe(1);
    expect(notLayout.stderr).toMatch(/nothing: not an OCI image layout/);
  });
});
