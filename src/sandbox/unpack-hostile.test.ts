import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import tar from 'tar-stream';
import { afterEach, describe, expect, it } from 'vitest';
import { PermanentError } from '../errors.ts';
import { OciLayout } from '../oci/layout.ts';
import { MediaType } from '../oci/media-types.ts';
import { unpackLayout } from './unpack.ts';

interface Raw {
  name: string;
  type?: 'file' | 'directory' | 'symlink';
  data?: string;
  linkname?: string;
}

/** A tar written entry by entry with tar-stream, names exactly as given: nothing sanitises them. */
async function handMadeTar(entries: Raw[]): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  pack.on('data', (c: unknown) => {
    if (Buffer.isBuffer(c)) chunks.push(c);
  });
  const done = new Promise<void>((resolve) => pack.on('end', resolve));
  for (const e of entries) {
    const type = e.type ?? 'file';
    if (type === 'file') pack.entry({ name: e.name, mode: 0o644 }, e.data ?? '');
    else pack.entry({ name: e.name, type, mode: 0o755, linkname: e.linkname });
  }
  pack.finalize();
  await done;
  return Buffer.concat(chunks);
}

async function layoutOf(dir: string, layers: Raw[][]): Promise<string> {
  const layout = await OciLayout.create(dir);
  const descs = [];
  for (const l of layers)
    descs.push(await layout.writeBlob(await handMadeTar(l), MediaType.layerTar));
  const config = await layout.writeJson(
    { architecture: 'amd64', os: 'linux', config: {}, rootfs: { type: 'layers', diff_ids: [] } },
    MediaType.imageConfig,
  );
  const manifest = await layout.writeJson(
    { schemaVersion: 2, mediaType: MediaType.imageManifest, config, layers: descs },
    MediaType.imageManifest,
  );
  return manifest.digest;
}

/**
 * sentinel/ holds the target root and siblings a breakout would delete first:
 * sentinel/{keep.txt, sibling/inner.txt, root/}. The whole sentinel sits in its own temp folder.
 */
async function sentinelTree(base: string) {
  const sentinel = path.join(base, 'sentinel');
  await mkdir(path.join(sentinel, 'sibling'), { recursive: true });
  await writeFile(path.join(sentinel, 'keep.txt'), 'keep');
  await writeFile(path.join(sentinel, 'sibling', 'inner.txt'), 'inner');
  const root = path.join(sentinel, 'root');
  await mkdir(root);
  return { sentinel, root };
}

async function expectSentinelIntact(sentinel: string, root: string): Promise<void> {
  expect((await readdir(sentinel)).sort()).toEqual(['keep.txt', 'root', 'sibling']);
  expect(await readFile(path.join(sentinel, 'keep.txt'), 'utf8')).toBe('keep');
  expect(await readFile(path.join(sentinel, 'sibling', 'inner.txt'), 'utf8')).toBe('inner');
  expect((await readdir(root)).length).toBeGreaterThanOrEqual(0); // the root itself still exists
}

describe('unpackLayout with hostile whiteouts', () => {
  const dirs: string[] = [];
  afterEach(async () => {
    for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
  });
  const temp = async () => {
    const d = await mkdtemp(path.join(os.tmpdir(), 'kiln-hostile-'));
    dirs.push(d);
    return d;
  };

  const base: Raw[] = [
    { name: 'etc/', type: 'directory' },
    { name: 'etc/passwd', data: 'root:x:0:0' },
  ];

  it.each([
    ['.wh..', /refusing whiteout "\.wh\.\.": it names its own folder/],
    ['.wh...', /refusing whiteout "\.wh\.\.\.": it names the folder above its own/],
    ['.wh.', /refusing whiteout "\.wh\.": it names its own folder/],
    ['./.wh...', /refusing whiteout "\.wh\.\.\."/],
    ['etc/.wh..', /refusing whiteout "etc\/\.wh\.\.": it names its own folder/],
    ['etc/.wh...', /refusing whiteout "etc\/\.wh\.\.\.": it names the folder above its own/],
    ['.wh.etc/passwd', /refusing whiteout "\.wh\.etc\/passwd": entries under a whiteout/],
  ])('refuses %s, naming the entry, and touches nothing outside the root', async (name, error) => {
    const dir = await temp();
    const { sentinel, root } = await sentinelTree(dir);
    const digest = await layoutOf(path.join(dir, 'oci'), [base, [{ name }]]);
    const failure = unpackLayout(path.join(dir, 'oci'), digest, root);
    await expect(failure).rejects.toThrow(PermanentError);
    await expect(failure).rejects.toThrow(error);
    await expectSentinelIntact(sentinel, root);
    // The lower layer is still there: the refused whiteout removed nothing.
    expect(await readFile(path.join(root, 'etc/passwd'), 'utf8')).toBe('root:x:0:0');
  });

  it('refuses an opaque whiteout whose folder is a file', async () => {
    const dir = await temp();
    const { sentinel, root } = await sentinelTree(dir);
    const digest = await layoutOf(path.join(dir, 'oci'), [
      base,
      [{ name: 'etc/passwd/.wh..wh..opq' }],
    ]);
    await expect(unpackLayout(path.join(dir, 'oci'), digest, root)).rejects.toThrow(
      /refusing opaque whiteout "etc\/passwd\/\.wh\.\.wh\.\.opq", its folder is not a directory/,
    );
    await expectSentinelIntact(sentinel, root);
  });

  it('keeps whiteouts reached through symlinks inside the root', async () => {
    const dir = await temp();
    const { sentinel, root } = await sentinelTree(dir);
    const digest = await layoutOf(path.join(dir, 'oci'), [
      [
        ...base,
        // Links that would reach the sentinel's contents if followed on the host.
        { name: 'up', type: 'symlink', linkname: '../..' },
        { name: 'abs', type: 'symlink', linkname: sentinel },
      ],
      [
        { name: 'up/.wh.keep.txt' },
        { name: 'up/.wh.sibling' },
        { name: 'abs/.wh.keep.txt' },
        { name: 'up/.wh..wh..opq' },
      ],
    ]);
    await unpackLayout(path.join(dir, 'oci'), digest, root);
    await expectSentinelIntact(sentinel, root);
    // `up` resolved to the root itself, so its opaque marker cleared the root's lower content.
    expect(await readdir(root)).toEqual([]);
  });

  it('skips AUFS metadata and still applies ordinary whiteouts', async () => {
    const dir = await temp();
    const { sentinel, root } = await sentinelTree(dir);
    const digest = await layoutOf(path.join(dir, 'oci'), [
      [...base, { name: 'etc/shadow', data: 's' }],
      [
        { name: '.wh..wh.plnk/', type: 'directory' },
        { name: '.wh..wh.plnk/1234.5', data: 'x' },
        { name: 'etc/.wh.shadow' },
      ],
    ]);
    await unpackLayout(path.join(dir, 'oci'), digest, root);
    await expectSentinelIntact(sentinel, root);
    expect((await readdir(root)).sort()).toEqual(['etc']);
    expect(await readdir(path.join(root, 'etc'))).toEqual(['passwd']);
  });
});
