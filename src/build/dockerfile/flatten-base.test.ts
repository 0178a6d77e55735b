import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import tar from 'tar-stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readTar } from '../../debian/deb.ts';
import { OciLayout } from '../../oci/layout.ts';
import { MediaType, type ImageManifest } from '../../oci/media-types.ts';
import type { ResolvedBase } from './bases.ts';
import { flattenBase, loadableBases } from './flatten-base.ts';

type Entry = {
  name: string;
  type?: 'file' | 'directory' | 'symlink' | 'link';
  data?: string;
  linkname?: string;
  uid?: number;
  mode?: number;
};

async function tarOf(entries: Entry[]): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  pack.on('data', (c: unknown) => {
    if (Buffer.isBuffer(c)) chunks.push(c);
  });
  const done = new Promise<void>((r) => pack.on('end', () => r()));
  for (const e of entries) {
    const type = e.type ?? 'file';
    const header = {
      name: e.name,
      type,
      mode: e.mode ?? 0o644,
      uid: e.uid ?? 0,
      gid: 0,
      linkname: e.linkname,
    };
    if (type === 'file') pack.entry(header, e.data ?? '');
    else pack.entry(header);
  }
  pack.finalize();
  await done;
  return Buffer.concat(chunks);
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'kiln-flatten-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A base layout with the given layers (gzip), under an index with an amd64 manifest. */
async function baseWith(layers: Entry[][], name = 'toolchain'): Promise<ResolvedBase> {
  const layoutDir = path.join(dir, `base-${Math.random().toString(36).slice(2)}`);
  const layout = await OciLayout.create(layoutDir);
  const descs = [];
  for (const l of layers)
    descs.push(await layout.writeBlob(gzipSync(await tarOf(l)), MediaType.layerGzip));
  const config = await layout.writeJson(
    {
      architecture: 'amd64',
      os: 'linux',
      config: { User: '0:0', Env: ['PATH=/usr/bin'], WorkingDir: '/src' },
      rootfs: { type: 'layers', diff_ids: descs.map((d) => d.digest) },
    },
    MediaType.imageConfig,
  );
  const manifest = await layout.writeJson(
    { schemaVersion: 2, mediaType: MediaType.imageManifest, config, layers: descs },
    MediaType.imageManifest,
  );
  const index = await layout.writeJson(
    {
      schemaVersion: 2,
      mediaType: MediaType.imageIndex,
      manifests: [{ ...manifest, platform: { architecture: 'amd64', os: 'linux' } }],
    },
    MediaType.imageIndex,
  );
  await layout.setRoot(index, 'latest');
  return {
    name,
    layoutDir,
    ref: 'latest',
    digest: index.digest,
    uri: 'docker://registry/kiln/toolchain:latest',
  };
}

async function squashedEntries(base: ResolvedBase) {
  const layout = new OciLayout(base.layoutDir);
  const manifest = await layout.readJson<ImageManifest>(base.digest);
  expect(manifest.layers).toHaveLength(1);
  const [layer] = manifest.layers;
  const entries = await readTar(await layout.readBlob(layer?.digest ?? ''), 'squashed');
  const config = await layout.readJson<{ config: unknown; rootfs: { diff_ids: string[] } }>(
    manifest.config.digest,
  );
  return { entries: new Map(entries.map((e) => [e.path, e])), config };
}

describe('squashing a build-only base', () => {
  it('applies the layers in order, whiteouts and opaque folders included, into one layer with the same config', async () => {
    const base = await baseWith([
      [
        { name: 'usr/', type: 'directory', mode: 0o755 },
        { name: 'usr/bin/', type: 'directory', mode: 0o755 },
        { name: 'usr/bin/gcc', data: 'gcc 1', mode: 0o755 },
        { name: 'usr/bin/gone', data: 'x' },
        { name: 'bin', type: 'symlink', linkname: 'usr/bin' },
        { name: 'etc/', type: 'directory' },
        { name: 'etc/old/', type: 'directory' },
        { name: 'etc/old/a', data: 'a' },
      ],
      [
        { name: 'usr/bin/gcc', data: 'gcc 2', mode: 0o755, uid: 7 },
        { name: 'usr/bin/.wh.gone' },
        { name: 'etc/old/.wh..wh..opq' },
        { name: 'etc/old/b', data: 'b' },
      ],
      [{ name: 'usr/bin/cc', type: 'link', linkname: 'usr/bin/gcc' }],
    ]);
    const flat = await flattenBase(base, 'amd64', path.join(dir, 'flat'), 0);
    expect(flat).toMatchObject({ name: 'toolchain', ref: 'amd64', uri: base.uri });
    const { entries, config } = await squashedEntries(flat);
    expect([...entries.keys()].sort()).toEqual([
      'bin',
      'etc',
      'etc/old',
      'etc/old/b',
      'usr',
      'usr/bin',
      'usr/bin/cc',
      'usr/bin/gcc',
    ]);
    expect(entries.get('usr/bin/gcc')).toMatchObject({
      data: Buffer.from('gcc 2'),
      uid: 7,
      mode: 0o755,
    });
    expect(entries.get('usr/bin/cc')?.data).toEqual(Buffer.from('gcc 2'));
    expect(entries.get('bin')).toMatchObject({ type: 'symlink', linkname: 'usr/bin' });
    expect(config.config).toEqual({ User: '0:0', Env: ['PATH=/usr/bin'], WorkingDir: '/src' });
    expect(config.rootfs.diff_ids).toHaveLength(1);
    // Same inputs, same bytes.
    const again = await flattenBase(base, 'amd64', path.join(dir, 'flat-again'), 0);
    expect(again.digest).toBe(flat.digest);
  });

  it('squashes only build-only bases, and loads a base it cannot squash as it is', async () => {
    const toolchain = await baseWith([[{ name: 'a', data: '1' }], [{ name: 'b', data: '2' }]]);
    const runtime = {
      ...(await baseWith([[{ name: 'c', data: '3' }], [{ name: 'd', data: '4' }]])),
      name: 'static',
    };
    const odd = { ...toolchain, name: 'odd', digest: `sha256:${'0'.repeat(64)}` };
    const loaded = await loadableBases([toolchain, runtime, odd], new Set(['static']), {
      arch: 'amd64',
      dir: path.join(dir, 'loadable'),
      mtime: 0,
    });
    expect(loaded[1]).toEqual(runtime);
    expect(loaded[2]).toEqual(odd);
    expect(loaded[0]?.layoutDir).not.toBe(toolchain.layoutDir);
    expect([...(await squashedEntries(loaded[0] as ResolvedBase)).entries.keys()].sort()).toEqual([
      'a',
      'b',
    ]);
  });
});
