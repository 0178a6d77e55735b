import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { PermanentError } from '../errors.ts';
import {
  checkLayerPath,
  gzipLayer,
  symlinkEscapes,
  writeTarLayer,
  type LayerEntry,
} from './tar.ts';

const opts = { mtime: 1_700_000_000, what: 'test layer' };

/** Reads the ustar names and mtimes straight from the bytes (every entry here fits in 100 chars). */
function headers(tar: Buffer): { name: string; mtime: number; uid: number; uname: string }[] {
  const out = [];
  for (let off = 0; off + 512 <= tar.length;) {
    const h = tar.subarray(off, off + 512);
    if (h.every((b) => b === 0)) break;
    const field = (s: number, n: number) =>
      h
        .subarray(s, s + n)
        .toString('latin1')
        .replace(/\0.*$/s, '')
        .trim();
    const size = parseInt(field(124, 12) || '0', 8);
    out.push({
      name: field(0, 100),
      mtime: parseInt(field(136, 12), 8),
      uid: parseInt(field(108, 8), 8),
      uname: field(265, 32),
    });
    off += 512 + Math.ceil(size / 512) * 512;
  }
  return out;
}

describe('deterministic tar layers', () => {
  const entries: LayerEntry[] = [
    { path: 'usr/bin/tool', type: 'file', mode: 0o755, data: Buffer.from('bin') },
    { path: 'usr', type: 'directory', mode: 0o755 },
    { path: 'usr/bin', type: 'directory', mode: 0o755 },
    { path: 'etc/link', type: 'symlink', mode: 0o777, linkname: '../usr/bin/tool' },
    { path: 'etc', type: 'directory', mode: 0o755, uid: 0, gid: 0 },
  ];

  it('sorts entries, fixes mtime and owners, and gives the same bytes whatever the input order', async () => {
    const a = await writeTarLayer(entries, opts);
    const b = await writeTarLayer([...entries].reverse(), opts);
    expect(a.tar.equals(b.tar)).toBe(true);
    expect(a.diffId).toBe(b.diffId);
    const h = headers(a.tar);
    expect(h.map((x) => x.name)).toEqual(['etc/', 'etc/link', 'usr/', 'usr/bin/', 'usr/bin/tool']);
    expect(new Set(h.map((x) => x.mtime))).toEqual(new Set([opts.mtime]));
    expect(new Set(h.map((x) => x.uname))).toEqual(new Set(['']));
  });

  it('gzips without a timestamp or name, so equal tars give equal blobs', async () => {
    const { tar } = await writeTarLayer(entries, opts);
    const [x, y] = await Promise.all([gzipLayer(tar), gzipLayer(tar)]);
    expect(x.equals(y)).toBe(true);
    expect(x.readUInt32LE(4)).toBe(0); // MTIME field of the gzip header
    expect((x[3] ?? 0) & 0x08).toBe(0); // no FNAME
    expect(gunzipSync(x).equals(tar)).toBe(true);
  });

  it.each([['../etc/passwd'], ['/etc/passwd'], ['usr/../../etc'], ['usr//bin'], ['./usr'], ['']])(
    'refuses the unsafe path %j',
    (p) => {
      expect(() => checkLayerPath(p, 'x')).toThrow(PermanentError);
    },
  );

  it.each([
    ['../x'],
    ['a/../../x'],
    ['a/..'],
    ['/x'],
    ['/etc/passwd'],
    ['usr/./bin'],
    ['usr/bin/'],
    ['a\0b'],
  ])('writeTarLayer refuses the entry path %j, naming it and the layer', async (p) => {
    for (const type of ['file', 'directory', 'symlink'] as const) {
      const entry: LayerEntry = {
        path: p,
        type,
        mode: 0o644,
        data: Buffer.from('x'),
        ...(type === 'symlink' ? { linkname: 'usr/bin/tool' } : {}),
      };
      const written = writeTarLayer([...entries, entry], opts);
      await expect(written).rejects.toThrow(PermanentError);
      await expect(written).rejects.toThrow(
        `test layer: refusing unsafe path ${JSON.stringify(p)}`,
      );
    }
  });

  it('refuses duplicate paths', async () => {
    await expect(
      writeTarLayer([...entries, { path: 'usr', type: 'directory', mode: 0o700 }], opts),
    ).rejects.toThrow(/duplicate path usr/);
  });

  it('refuses symlinks that climb out of the root and entries under a symlink', async () => {
    expect(symlinkEscapes('usr/lib/x', '../../../etc')).toBe(true);
    expect(symlinkEscapes('usr/lib/x', '../../etc')).toBe(false);
    expect(symlinkEscapes('lib', '/usr/lib')).toBe(false);
    await expect(
      writeTarLayer([{ path: 'a', type: 'symlink', mode: 0o777, linkname: '../../x' }], opts),
    ).rejects.toThrow(/escapes the root/);
    await expect(
      writeTarLayer(
        [
          { path: 'lib', type: 'symlink', mode: 0o777, linkname: 'usr/lib' },
          { path: 'lib/evil', type: 'file', mode: 0o644, data: Buffer.from('') },
        ],
        opts,
      ),
    ).rejects.toThrow(/lies under the symlink lib/);
  });
});
