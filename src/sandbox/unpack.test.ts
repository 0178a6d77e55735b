import { lstat, mkdtemp, readFile, readlink, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import tar from 'tar-stream';
import { afterEach, describe, expect, it } from 'vitest';
import { OciLayout } from '../oci/layout.ts';
import { MediaType } from '../oci/media-types.ts';
import { bwrapArgs } from './run-tests.ts';
import { unpackLayout } from './unpack.ts';

type Raw = {
  name: string;
  type?: 'file' | 'directory' | 'symlink' | 'link';
  data?: string;
  linkname?: string;
};

async function rawTar(entries: Raw[]): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  pack.on('data', (c: unknown) => {
    if (Buffer.isBuffer(c)) chunks.push(c);
  });
  const done = new Promise<void>((r) => pack.on('end', () => r()));
  for (const e of entries) {
    if ((e.type ?? 'file') === 'file') pack.entry({ name: e.name, mode: 0o644 }, e.data ?? '');
    else pack.entry({ name: e.name, type: e.type, mode: 0o755, linkname: e.linkname });
  }
  pack.finalize();
  await done;
  return gzipSync(Buffer.concat(chunks));
}

/** A layout holding one image made of the given raw layers. */
async function layoutOf(dir: string, layers: Raw[][]): Promise<string> {
  const layout = await OciLayout.create(dir);
  const descs = [];
  for (const l of layers) descs.push(await layout.writeBlob(await rawTar(l), MediaType.layerGzip));
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

describe('unpackLayout', () => {
  const dirs: string[] = [];
  afterEach(async () => {
    for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
  });
  const temp = async () => {
    const d = await mkdtemp(path.join(os.tmpdir(), 'kiln-unpack-'));
    dirs.push(d);
    return d;
  };

  it('applies layers in order with whiteouts and opaque folders', async () => {
    const dir = await temp();
    const digest = await layoutOf(path.join(dir, 'oci'), [
      [
        { name: 'etc/', type: 'directory' },
        { name: 'etc/a', data: 'a' },
        { name: 'etc/b', data: 'b' },
        { name: 'opt/x/old', data: 'o' },
      ],
      [
        { name: 'etc/.wh.a' },
        { name: 'etc/b', data: 'b2' },
        { name: 'opt/x/.wh..wh..opq' },
        { name: 'opt/x/new', data: 'n' },
        { name: 'etc/l', type: 'symlink', linkname: 'b' },
      ],
    ]);
    const root = path.join(dir, 'root');
    await unpackLayout(path.join(dir, 'oci'), digest, root);
    await expect(lstat(path.join(root, 'etc/a'))).rejects.toThrow();
    expect(await readFile(path.join(root, 'etc/b'), 'utf8')).toBe('b2');
    await expect(lstat(path.join(root, 'opt/x/old'))).rejects.toThrow();
    expect(await readFile(path.join(root, 'opt/x/new'), 'utf8')).toBe('n');
    expect(await readlink(path.join(root, 'etc/l'))).toBe('b');
  });

  it('keeps a layer that writes through a symlink inside the root', async () => {
    const dir = await temp();
    const outside = await temp();
    const digest = await layoutOf(path.join(dir, 'oci'), [
      [{ name: 'escape', type: 'symlink', linkname: outside }],
      [
        { name: 'escape/pwned', data: 'x' },
        { name: 'up', type: 'symlink', linkname: '../../../../..' },
        { name: 'up/pwned2', data: 'y' },
      ],
    ]);
    const root = path.join(dir, 'root');
    await unpackLayout(path.join(dir, 'oci'), digest, root);
    await expect(lstat(path.join(outside, 'pwned'))).rejects.toThrow();
    // Both land inside the root: the absolute link is read from the root, `..` stops at it.
    expect(await readFile(path.join(root, outside, 'pwned'), 'utf8')).toBe('x');
    expect(await readFile(path.join(root, 'pwned2'), 'utf8')).toBe('y');
  });

  it('refuses `..` entries', async () => {
    const dir = await temp();
    const digest = await layoutOf(path.join(dir, 'oci'), [[{ name: '../evil', data: 'x' }]]);
    await expect(
      unpackLayout(path.join(dir, 'oci'), digest, path.join(dir, 'root')),
    ).rejects.toThrow(/unsafe path/);
  });
});

describe('bwrap arguments', () => {
  it('unshares every namespace (no network), binds the root read-only and runs as the image user', () => {
    const args = bwrapArgs({ rootfs: '/r', user: '65532:65532', env: ['A=1'], workdir: '/w' }, [
      '/bin/x',
      '-c',
    ]);
    expect(args.slice(0, 6)).toEqual([
      '--unshare-all',
      '--die-with-parent',
      '--new-session',
      '--ro-bind',
      '/r',
      '/',
    ]);
    expect(args).toEqual(
      expect.arrayContaining(['--uid', '65532', '--gid', '65532', '--clearenv', '--chdir', '/w']),
    );
    expect(args.slice(-3)).toEqual(['--', '/bin/x', '-c']);
  });
});
