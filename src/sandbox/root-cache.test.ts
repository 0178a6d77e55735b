import { appendFile, mkdtemp, readFile, rm, stat, unlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import tar from 'tar-stream';
import { afterEach, describe, expect, it } from 'vitest';
import { OciLayout } from '../oci/layout.ts';
import { MediaType } from '../oci/media-types.ts';
import { cachedRoot, rootCacheDir } from './root-cache.ts';

async function layer(files: Record<string, string>): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  pack.on('data', (c: unknown) => {
    if (Buffer.isBuffer(c)) chunks.push(c);
  });
  const done = new Promise<void>((r) => pack.on('end', () => r()));
  for (const [name, data] of Object.entries(files)) pack.entry({ name, mode: 0o644 }, data);
  pack.finalize();
  await done;
  return gzipSync(Buffer.concat(chunks));
}

/** A layout with one image of one layer holding `files`; its manifest digest. */
async function image(dir: string, files: Record<string, string>): Promise<string> {
  const layout = await OciLayout.create(dir);
  const l = await layout.writeBlob(await layer(files), MediaType.layerGzip);
  const config = await layout.writeJson(
    { architecture: 'amd64', os: 'linux', config: {}, rootfs: { type: 'layers', diff_ids: [] } },
    MediaType.imageConfig,
  );
  const manifest = await layout.writeJson(
    { schemaVersion: 2, mediaType: MediaType.imageManifest, config, layers: [l] },
    MediaType.imageManifest,
  );
  return manifest.digest;
}

/*
 * A fresh unpack is told from a hit by a file's access time, which the fingerprint leaves out
 * and lstat does not change: marked before, still marked after a hit, new after an unpack.
 */
const marker = path.join('usr', 'bin', 'tool');
/*
 * Whether a later cachedRoot handed out the same tree or unpacked a new one: the marker file's
 * inode and birth time, which only a fresh unpack changes. (Marking by utimes would rewrite the
 * mtime through a float of seconds, which may land a nanosecond off and change the fingerprint.)
 */
const marks = new Map<string, string>();
async function identity(root: string): Promise<string> {
  const s = await stat(path.join(root, marker), { bigint: true });
  return `${s.ino}:${s.birthtimeNs}:${s.ctimeNs}`;
}
async function mark(root: string): Promise<void> {
  marks.set(root, await identity(root));
}
const marked = async (root: string): Promise<boolean> => marks.get(root) === (await identity(root));

describe('cachedRoot (unpacked test roots kept by manifest digest)', () => {
  const dirs: string[] = [];
  afterEach(async () => {
    for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
  });
  const temp = async (): Promise<string> => {
    const d = await mkdtemp(path.join(os.tmpdir(), 'kiln-root-cache-'));
    dirs.push(d);
    return d;
  };
  const files = { 'usr/bin/tool': 'tool v1\n', 'etc/conf': 'a=1\n' };

  it('unpacks once, with the mount points, and hands the same tree out again', async () => {
    const [layoutDir, cache] = [await temp(), await temp()];
    const digest = await image(layoutDir, files);
    const root = await cachedRoot(layoutDir, digest, cache);
    expect(root.startsWith(rootCacheDir(cache))).toBe(true);
    expect(await readFile(path.join(root, 'usr/bin/tool'), 'utf8')).toBe('tool v1\n');
    for (const m of ['proc', 'dev', 'tmp'])
      expect((await stat(path.join(root, m))).isDirectory()).toBe(true);
    await mark(root);
    expect(await cachedRoot(layoutDir, digest, cache)).toBe(root);
    // A hit is the same tree, not a fresh unpack.
    expect(await marked(root)).toBe(true);
  });

  it.each([
    ['a file removed', (root: string) => unlink(path.join(root, 'etc/conf'))],
    ['a file grown', (root: string) => appendFile(path.join(root, 'usr/bin/tool'), 'evil\n')],
    ['a file added', (root: string) => writeFile(path.join(root, 'usr/bin/extra'), 'x')],
  ])('refuses a damaged entry (%s) and unpacks it again', async (_, damage) => {
    const [layoutDir, cache] = [await temp(), await temp()];
    const digest = await image(layoutDir, files);
    const root = await cachedRoot(layoutDir, digest, cache);
    await mark(root);
    await damage(root);
    const again = await cachedRoot(layoutDir, digest, cache);
    expect(await marked(again)).toBe(false);
    expect(await readFile(path.join(again, 'usr/bin/tool'), 'utf8')).toBe('tool v1\n');
    expect(await readFile(path.join(again, 'etc/conf'), 'utf8')).toBe('a=1\n');
    await expect(stat(path.join(again, 'usr/bin/extra'))).rejects.toThrow();
  });

  it('refuses an entry whose fingerprint file is damaged', async () => {
    const [layoutDir, cache] = [await temp(), await temp()];
    const digest = await image(layoutDir, files);
    const root = await cachedRoot(layoutDir, digest, cache);
    await mark(root);
    await writeFile(path.join(path.dirname(root), 'fingerprint'), 'garbage\n');
    const again = await cachedRoot(layoutDir, digest, cache);
    expect(await marked(again)).toBe(false);
    expect(await readFile(path.join(path.dirname(again), 'fingerprint'), 'utf8')).toMatch(
      /^[a-f0-9]{64}\n$/,
    );
  });

  it('another image (any changed layer byte) is another entry', async () => {
    const [a, b, cache] = [await temp(), await temp(), await temp()];
    const one = await cachedRoot(a, await image(a, files), cache);
    const two = await cachedRoot(
      b,
      await image(b, { ...files, 'usr/bin/tool': 'tool v2\n' }),
      cache,
    );
    expect(two).not.toBe(one);
    expect(await readFile(path.join(one, 'usr/bin/tool'), 'utf8')).toBe('tool v1\n');
    expect(await readFile(path.join(two, 'usr/bin/tool'), 'utf8')).toBe('tool v2\n');
  });
});
