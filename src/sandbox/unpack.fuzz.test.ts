import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import tar from 'tar-stream';
import { afterAll, describe, expect, it } from 'vitest';
import { PermanentError } from '../errors.ts';
import { OciLayout } from '../oci/layout.ts';
import { MediaType } from '../oci/media-types.ts';
import { unpackLayout } from './unpack.ts';

interface Raw {
  name: string;
  type: 'file' | 'directory' | 'symlink' | 'link';
  linkname?: string;
}

async function tarOf(entries: Raw[]): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  pack.on('data', (c: unknown) => {
    if (Buffer.isBuffer(c)) chunks.push(c);
  });
  const done = new Promise<void>((resolve) => pack.on('end', resolve));
  for (const e of entries) {
    if (e.type === 'file') pack.entry({ name: e.name, mode: 0o644 }, 'x');
    else pack.entry({ name: e.name, type: e.type, mode: 0o755, linkname: e.linkname });
  }
  pack.finalize();
  await done;
  return Buffer.concat(chunks);
}

async function layoutOf(dir: string, layers: { bytes: Buffer; gzip: boolean }[]): Promise<string> {
  const layout = await OciLayout.create(dir);
  const descs = [];
  for (const l of layers)
    descs.push(await layout.writeBlob(l.bytes, l.gzip ? MediaType.layerGzip : MediaType.layerTar));
  const config = await layout.writeJson(
    { rootfs: { type: 'layers', diff_ids: [] } },
    MediaType.imageConfig,
  );
  const manifest = await layout.writeJson(
    { schemaVersion: 2, mediaType: MediaType.imageManifest, config, layers: descs },
    MediaType.imageManifest,
  );
  return manifest.digest;
}

const base = await mkdtemp(path.join(os.tmpdir(), 'kiln-unpack-fuzz-'));
afterAll(() => rm(base, { recursive: true, force: true }));
let runs = 0;

/** A fresh sentinel/{keep.txt, sibling/inner.txt, root/} for one run. */
async function sentinelTree() {
  const sentinel = path.join(base, `run-${runs++}`, 'sentinel');
  await mkdir(path.join(sentinel, 'sibling'), { recursive: true });
  await writeFile(path.join(sentinel, 'keep.txt'), 'keep');
  await writeFile(path.join(sentinel, 'sibling', 'inner.txt'), 'inner');
  await mkdir(path.join(sentinel, 'root'));
  return { sentinel, root: path.join(sentinel, 'root'), oci: path.join(sentinel, '..', 'oci') };
}

async function expectIntact(sentinel: string): Promise<void> {
  expect((await readdir(sentinel)).sort()).toEqual(['keep.txt', 'root', 'sibling']);
  expect(await readFile(path.join(sentinel, 'keep.txt'), 'utf8')).toBe('keep');
  expect(await readdir(path.join(sentinel, 'sibling'))).toEqual(['inner.txt']);
}

/** Unpacks; only success or a PermanentError naming the layer is allowed. */
async function unpackOutcome(oci: string, digest: string, root: string): Promise<void> {
  try {
    await unpackLayout(oci, digest, root);
  } catch (error) {
    expect(error, String(error)).toBeInstanceOf(PermanentError);
    expect((error as Error).message).toMatch(/layer sha256:[a-f0-9]{64}/);
  }
}

describe('unpackLayout on hostile layers, by property', () => {
  it('never touches anything outside the root, whatever names, links and whiteouts a layer holds', async () => {
    const segment = fc.constantFrom(
      'a',
      'b',
      'keep.txt',
      'sibling',
      '..',
      '.',
      '',
      '.wh.',
      '.wh..',
      '.wh...',
      '.wh.a',
      '.wh.keep.txt',
      '.wh.sibling',
      '.wh..wh..opq',
      '.wh..wh.plnk',
      'up',
      'abs',
    );
    const name = fc
      .tuple(fc.constantFrom('', './', '/'), fc.array(segment, { minLength: 1, maxLength: 3 }))
      .map(([lead, segs]) => lead + segs.join('/'));
    const target = fc.constantFrom(
      '..',
      '../..',
      '../../..',
      '/',
      '.',
      'a',
      'up/..',
      '@sentinel',
      '@sibling',
    );
    const entry: fc.Arbitrary<Raw> = fc.oneof(
      fc.record({ name, type: fc.constant('file' as const) }),
      fc.record({ name, type: fc.constant('directory' as const) }),
      fc.record({ name, type: fc.constant('symlink' as const), linkname: target }),
      fc.record({ name, type: fc.constant('link' as const), linkname: target }),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.array(entry, { minLength: 1, maxLength: 6 }), { minLength: 1, maxLength: 3 }),
        async (layers) => {
          const { sentinel, root, oci } = await sentinelTree();
          const concrete = layers.map((l) =>
            l.map((e) => ({
              ...e,
              linkname: e.linkname
                ?.replace('@sentinel', sentinel)
                .replace('@sibling', path.join(sentinel, 'sibling')),
            })),
          );
          const blobs = await Promise.all(
            concrete.map(async (l) => ({ bytes: await tarOf(l), gzip: false })),
          );
          const digest = await layoutOf(oci, blobs);
          await unpackOutcome(oci, digest, root);
          await expectIntact(sentinel);
        },
      ),
      { numRuns: 150 },
    );
  });

  it('refuses random or damaged layer bytes with a PermanentError, tar or gzip', async () => {
    const good = await tarOf([
      { name: 'etc/', type: 'directory' },
      { name: 'etc/passwd', type: 'file' },
      { name: 'etc/l', type: 'symlink', linkname: 'passwd' },
    ]);
    const damaged = fc
      .tuple(fc.nat(), fc.uint8Array({ minLength: 1, maxLength: 16 }), fc.boolean())
      .map(([at, junk, cut]) => {
        const i = at % good.length;
        return cut
          ? good.subarray(0, i)
          : Buffer.concat([good.subarray(0, i), Buffer.from(junk), good.subarray(i + junk.length)]);
      });
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          damaged,
          fc.uint8Array({ maxLength: 2048 }).map((a) => Buffer.from(a)),
        ),
        fc.boolean(),
        async (bytes, gzip) => {
          const { sentinel, root, oci } = await sentinelTree();
          const digest = await layoutOf(oci, [{ bytes: gzip ? gzipSync(bytes) : bytes, gzip }]);
          await unpackOutcome(oci, digest, root);
          // A body that is not gzip at all, under a gzip media type.
          const raw = await layoutOf(`${oci}-raw`, [{ bytes, gzip: true }]);
          await unpackOutcome(`${oci}-raw`, raw, root);
          await expectIntact(sentinel);
        },
      ),
      { numRuns: 150 },
    );
  });
});
