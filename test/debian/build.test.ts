import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { execa } from 'execa';
import tar from 'tar-stream';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canEmulate } from '../../src/build/debian/index.ts';
import { hostArch } from '../../src/build/host-arch.ts';
import { PermanentError } from '../../src/errors.ts';
import { OciLayout } from '../../src/oci/layout.ts';
import type { ImageConfig, ImageIndex, ImageManifest } from '../../src/oci/media-types.ts';
import { makeDebianRepo, type DebianTestRepo } from '../helpers/debian-repo.ts';
import { buildInput, hostEnvPackage, localDebianBuilder, testRecipe } from './fixtures.ts';

// Which arm64 test runs depends on the machine: scripts/setup.sh registers qemu-aarch64 as root.
const emulated = await canEmulate('arm64');

async function tarPaths(gz: Buffer): Promise<string[]> {
  const names: string[] = [];
  const extract = tar.extract();
  extract.on('entry', (h, s, next) => {
    names.push(h.name);
    s.resume();
    s.on('end', next);
  });
  const done = new Promise<void>((resolve, reject) => {
    extract.on('finish', resolve);
    extract.on('error', reject);
  });
  Readable.from([gunzipSync(gz)]).pipe(extract);
  await done;
  return names;
}

/* The whole builder against a local signed repository: layout, layers, accounts, status.d, SBOM, tests. */
describe.skipIf(hostArch() !== 'amd64')('debian builder (local repository)', () => {
  let repo: DebianTestRepo;
  let cacheDir: string;
  let work: string;
  const builder = () =>
    localDebianBuilder(
      () => repo,
      () => cacheDir,
    );
  const tests = [
    {
      name: 'env shows the image environment',
      run: ['/usr/bin/env'],
      'expect-output': 'SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt',
    },
  ];

  beforeAll(async () => {
    cacheDir = await mkdtemp(path.join(os.tmpdir(), 'kiln-build-cache-'));
    work = await mkdtemp(path.join(os.tmpdir(), 'kiln-build-work-'));
    repo = await makeDebianRepo(
      [
        {
          name: 'libc-fake',
          version: '1.0',
          files: {
            'usr/share/doc/libc-fake/copyright':
              'Format: https://example.invalid/copyright-format/1.0/\n\nFiles: *\nCopyright: nobody\nLicense: LGPL-2.1+\n',
            'usr/share/doc/libc-fake/changelog': 'dropped',
            'usr/share/man/man1/x.1': 'dropped',
          },
        },
        await hostEnvPackage(),
        {
          name: 'tzfake',
          version: '1.0',
          arch: 'all',
          files: { 'usr/share/zoneinfo/UTC': 'utc-1' },
        },
        {
          name: 'tzfake',
          version: '1.1',
          arch: 'all',
          suite: 'stable-security',
          files: { 'usr/share/zoneinfo/UTC': 'utc-2' },
        },
      ],
      { suites: ['stable', 'stable-security'], archs: ['amd64', 'arm64'] },
    );
  });
  afterAll(async () => {
    await repo?.close();
    await rm(cacheDir, { recursive: true, force: true });
    await rm(work, { recursive: true, force: true });
  });

  it('writes a reproducible OCI layout with accounts, status.d, lockfile and SBOM, and runs the tests in it', async () => {
    const recipe = testRecipe(
      { suites: ['stable'], packages: ['envtool', 'tzfake'] },
      { test: tests },
    );
    const a = await builder().build(buildInput(recipe, path.join(work, 'a')));
    const b = await builder().build(buildInput(recipe, path.join(work, 'b')));
    expect(b.index.digest).toBe(a.index.digest);
    expect(a.archs[0]?.tests).toEqual([
      { name: 'env shows the image environment', status: 'passed' },
    ]);

    const layout = new OciLayout(a.layoutDir);
    const index = await layout.readJson<ImageIndex>(a.index.digest);
    expect(index.manifests.map((m) => m.platform)).toEqual([
      { architecture: 'amd64', os: 'linux' },
    ]);
    const manifest = await layout.readJson<ImageManifest>(index.manifests[0]?.digest ?? '');
    expect(manifest.annotations?.['dev.kiln.inputs-digest']).toBe(`sha256:${'1'.repeat(64)}`);
    const config = await layout.readJson<ImageConfig>(manifest.config.digest);
    expect(config.config.User).toBe('65532:65532');
    expect(config.config.Env).toContain(
      'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
    );
    // One base layer, then one layer per package.
    expect(manifest.layers).toHaveLength(4);
    const base = await tarPaths(await layout.readBlob(manifest.layers[0]?.digest ?? ''));
    expect(base).toEqual(
      expect.arrayContaining(['etc/passwd', 'etc/group', 'home/nonroot/', 'tmp/']),
    );
    // Layers follow package names: envtool, libc-fake, tzfake.
    const libc = await tarPaths(await layout.readBlob(manifest.layers[2]?.digest ?? ''));
    expect(libc).toContain('var/lib/dpkg/status.d/libc-fake');
    expect(libc).toContain('usr/share/doc/libc-fake/copyright');
    expect(libc).not.toContain('usr/share/doc/libc-fake/changelog');
    expect(libc.some((p) => p.startsWith('usr/share/man'))).toBe(false);
    expect([...libc].sort()).toEqual(libc);

    const lock = JSON.parse(
      await readFile(path.join(a.layoutDir, 'lockfile-amd64.json'), 'utf8'),
    ) as { packages: { name: string }[] };
    expect(lock.packages.map((p) => p.name)).toEqual(['envtool', 'libc-fake', 'tzfake']);
    const sbom = JSON.parse(
      await readFile(path.join(a.layoutDir, 'sbom-amd64.spdx.json'), 'utf8'),
    ) as {
      spdxVersion: string;
      packages: {
        name: string;
        licenseDeclared: string;
        externalRefs: { referenceLocator: string }[];
      }[];
      relationships: { relationshipType: string }[];
    };
    expect(sbom.spdxVersion).toBe('SPDX-2.3');
    const libcPkg = sbom.packages.find((p) => p.name === 'libc-fake');
    expect(libcPkg?.licenseDeclared).toBe('LGPL-2.1-or-later');
    expect(libcPkg?.externalRefs[0]?.referenceLocator).toBe(
      'pkg:deb/debian/libc-fake@1.0?arch=amd64',
    );
    expect(sbom.relationships.some((r) => r.relationshipType === 'DESCRIBES')).toBe(true);

    const inspect = await execa('skopeo', ['inspect', `oci:${a.layoutDir}`]);
    expect(JSON.parse(inspect.stdout)).toMatchObject({ Architecture: 'amd64', Os: 'linux' });
  });

  it('rebuilds a cached layer whose blob was damaged, to the same bytes', async () => {
    const recipe = testRecipe({ suites: ['stable'], packages: ['envtool', 'tzfake'] });
    const first = await builder().build(buildInput(recipe, path.join(work, 'g')));
    const layersDir = path.join(cacheDir, 'debian', 'layers');
    for (const name of await readdir(layersDir)) {
      const record = JSON.parse(await readFile(path.join(layersDir, name), 'utf8')) as {
        digest: string;
      };
      await writeFile(
        path.join(cacheDir, 'debian', 'blobs', 'sha256', record.digest.slice(7)),
        'damaged',
      );
    }
    const again = await builder().build(buildInput(recipe, path.join(work, 'h')));
    expect(again.index.digest).toBe(first.index.digest);
  });

  it('rewrites only the changed package layer when one package is updated', async () => {
    const before = await builder().build(
      buildInput(
        testRecipe({ suites: ['stable'], packages: ['envtool', 'tzfake'] }),
        path.join(work, 'c'),
      ),
    );
    const after = await builder().build(
      buildInput(
        testRecipe({ suites: ['stable', 'stable-security'], packages: ['envtool', 'tzfake'] }),
        path.join(work, 'd'),
      ),
    );
    const layers = async (dir: string, digest: string): Promise<string[]> => {
      const layout = new OciLayout(dir);
      const index = await layout.readJson<ImageIndex>(digest);
      return (await layout.readJson<ImageManifest>(index.manifests[0]?.digest ?? '')).layers.map(
        (l) => l.digest,
      );
    };
    const x = await layers(before.layoutDir, before.index.digest);
    const y = await layers(after.layoutDir, after.index.digest);
    expect(x.length).toBe(y.length);
    expect(x.filter((d, i) => d !== y[i])).toHaveLength(1);
    expect(x[3]).not.toBe(y[3]); // tzfake's layer, the last by name
  });

  it('fails the build with the output of a failing test', async () => {
    const recipe = testRecipe(
      { suites: ['stable'], packages: ['envtool'] },
      { test: [{ run: ['/usr/bin/env', '/no/such/tool'] }] },
    );
    const error = await builder()
      .build(buildInput(recipe, path.join(work, 'e')))
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PermanentError);
    expect(String(error)).toMatch(
      /image test 1 .* failed: exited with 127[\s\S]*No such file or directory/,
    );
  });

  it.skipIf(emulated)(
    'builds other archs and, with no qemu-user-static, skips their tests with a note',
    async () => {
      const out = await buildArm64(path.join(work, 'f'));
      expect(out.archs[0]?.manifest.platform).toEqual({
        architecture: 'arm64',
        os: 'linux',
        variant: 'v8',
      });
      expect(out.archs[0]?.tests[0]).toMatchObject({
        status: 'skipped',
        note: expect.stringMatching(/tests run only on the host's arch/),
      });
    },
  );

  it.runIf(emulated)(
    'builds other archs and, with qemu-user-static registered, runs their tests instead of skipping them',
    async () => {
      // The local repository's arm64 package holds the host's amd64 env without its loader, so
      // the test runs and fails: proof it ran (real arm64 programs pass in test/recipes/).
      const error = await buildArm64(path.join(work, 'f')).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(PermanentError);
      expect(String(error)).toMatch(/image test 1 \(env shows the image environment\) failed/);
    },
  );

  async function buildArm64(dir: string) {
    const recipe = testRecipe({ suites: ['stable'], packages: ['tzfake'] }, { test: tests });
    return builder().build(
      buildInput({ ...recipe, build: { ...recipe.build, archs: ['arm64'] } }, dir, {
        archs: ['arm64'],
      }),
    );
  }
});
