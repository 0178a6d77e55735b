import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { gunzipSync, gzipSync } from 'node:zlib';
import tar from 'tar-stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PermanentError } from '../../src/errors.ts';
import { OciLayout } from '../../src/oci/layout.ts';
import type { ImageIndex, ImageManifest } from '../../src/oci/media-types.ts';
import { makeDebianRepo, type DebianTestRepo } from '../helpers/debian-repo.ts';
import { buildInput, localDebianBuilder, testRecipe } from './fixtures.ts';

/** A gzipped tarball like npm's: everything under `package/`. */
function npmTarball(files: Record<string, string>): Promise<Buffer> {
  const pack = tar.pack();
  for (const [name, content] of Object.entries(files))
    pack.entry({ name: `package/${name}`, mode: 0o644 }, content);
  pack.finalize();
  const chunks: Buffer[] = [];
  return new Promise((resolve, reject) => {
    pack.on('data', (c: unknown) => {
      if (Buffer.isBuffer(c)) chunks.push(c);
    });
    pack.on('end', () => resolve(gzipSync(Buffer.concat(chunks))));
    pack.on('error', reject);
  });
}

async function layerFiles(gz: Buffer): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const extract = tar.extract();
  extract.on('entry', (h, s, next) => {
    const chunks: Buffer[] = [];
    s.on('data', (c: unknown) => {
      if (Buffer.isBuffer(c)) chunks.push(c);
    });
    s.on('end', () => {
      if (h.type === 'file') out.set(h.name, Buffer.concat(chunks).toString());
      next();
    });
  });
  const done = new Promise<void>((resolve, reject) => {
    extract.on('finish', resolve);
    extract.on('error', reject);
  });
  Readable.from([gunzipSync(gz)]).pipe(extract);
  await done;
  return out;
}

/* `build.files` in the debian builder: fetched with a checksum (or npm's integrity) into one layer. */
describe('debian builder: recipe files', () => {
  let repo: DebianTestRepo;
  let server: Server;
  let base: string;
  let cacheDir: string;
  let tarball: Buffer;
  let integrity = '';
  const dirs: string[] = [];

  beforeAll(async () => {
    repo = await makeDebianRepo(
      [{ name: 'base-files', version: '13.8', files: { 'etc/os-release': 'ID=test\n' } }],
      { archs: ['amd64'] },
    );
    cacheDir = await mkdtemp(path.join(os.tmpdir(), 'kiln-files-cache-'));
    tarball = await npmTarball({
      'package.json': '{"name":"tool","version":"1.2.3"}',
      'bin/tool.js': 'console.log(1)',
    });
    integrity = `sha512-${createHash('sha512').update(tarball).digest('base64')}`;
    server = createServer((req, res) => {
      if (req.url === '/tool/1.2.3') {
        res.setHeader('content-type', 'application/json');
        res.end(
          JSON.stringify({
            name: 'tool',
            version: '1.2.3',
            dist: { tarball: `${base}/tool/-/tool-1.2.3.tgz`, integrity },
          }),
        );
      } else if (req.url === '/tool/-/tool-1.2.3.tgz') res.end(tarball);
      else if (req.url === '/bad/1.0.0') {
        res.setHeader('content-type', 'application/json');
        res.end(
          JSON.stringify({
            dist: {
              tarball: `${base}/tool/-/tool-1.2.3.tgz`,
              integrity: `sha512-${Buffer.alloc(64).toString('base64')}`,
            },
          }),
        );
      } else if (req.url === '/plain.txt') res.end('hello');
      else res.writeHead(404).end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    process.env.KILN_NPM_REGISTRY = base;
  }, 120_000);
  afterAll(async () => {
    delete process.env.KILN_NPM_REGISTRY;
    await repo?.close();
    await new Promise((r) => server.close(r));
    for (const d of [cacheDir, ...dirs]) await rm(d, { recursive: true, force: true });
  });

  const builder = () =>
    localDebianBuilder(
      () => repo,
      () => cacheDir,
    );

  async function build(
    files: NonNullable<ReturnType<typeof testRecipe>['build']['files']>,
    version: string,
  ) {
    const work = await mkdtemp(path.join(os.tmpdir(), 'kiln-files-work-'));
    dirs.push(work);
    const recipe = testRecipe({ suites: ['stable'], packages: ['base-files'] }, { name: 'tool' });
    recipe.build.files = files;
    recipe.build.workdir = '/work';
    return builder().build(buildInput(recipe, work, { version }));
  }

  it('puts an npm package (checked against the registry integrity) and a checksummed file in one layer on top, with a purl in the SBOM', async () => {
    const output = await build(
      [
        { url: 'npm:tool', path: '/opt/tool', extract: true, 'strip-components': 1 },
        {
          url: `${base}/plain.txt`,
          path: '/etc/greeting',
          sha256: createHash('sha256').update('hello').digest('hex'),
        },
      ],
      '1.2.3',
    );
    const layout = new OciLayout(output.layoutDir);
    const index = await layout.readJson<ImageIndex>(output.index.digest);
    const manifest = await layout.readJson<ImageManifest>(index.manifests[0]?.digest ?? '');
    const top = manifest.layers[manifest.layers.length - 1];
    const files = await layerFiles(await layout.readBlob(top?.digest ?? ''));
    expect(files.get('opt/tool/bin/tool.js')).toBe('console.log(1)');
    expect(files.get('etc/greeting')).toBe('hello');
    const baseLayer = await layerFiles(await layout.readBlob(manifest.layers[0]?.digest ?? ''));
    expect([...baseLayer.keys()].some((p) => p.startsWith('etc/passwd'))).toBe(true);
    expect(output.archs[0]?.packages).toContainEqual(
      expect.objectContaining({ name: 'tool', purl: 'pkg:npm/tool@1.2.3' }),
    );
    expect(output.materials.map((m) => m.uri)).toContain(`${base}/tool/-/tool-1.2.3.tgz`);
  });

  it('refuses a tarball that does not match the registry’s integrity, and a file whose sha256 differs', async () => {
    await expect(
      build([{ url: 'npm:bad', path: '/opt/bad', extract: true }], '1.0.0'),
    ).rejects.toThrow(/does not match the registry's integrity/);
    await expect(
      build([{ url: `${base}/plain.txt`, path: '/etc/x', sha256: '0'.repeat(64) }], '1.2.3'),
    ).rejects.toBeInstanceOf(PermanentError);
  });
});
