import { describe, expect, it } from 'vitest';
import type { DebContents, TarEntry } from '../../debian/deb.ts';
import { PermanentError } from '../../errors.ts';
import { planLayers, maxLayers } from './layers.ts';
import { licenseFromCopyright } from './license.ts';
import {
  assembleTrees,
  canonicalise,
  isDropped,
  pathIndexOf,
  recipeDrop,
  treeView,
  withParents,
} from './rootfs.ts';

const entry = (
  path: string,
  type: TarEntry['type'] = 'file',
  extra: Partial<TarEntry> = {},
): TarEntry => ({
  path,
  type,
  mode: type === 'directory' ? 0o755 : 0o644,
  uid: 0,
  gid: 0,
  mtime: 0,
  linkname: undefined,
  data: type === 'file' ? Buffer.from(path) : undefined,
  ...extra,
});
const deb = (data: TarEntry[]): DebContents => ({
  control: new Map([['control', Buffer.from('Package: x\n')]]),
  data,
  mtime: 0,
});

describe('root filesystem assembly', () => {
  it('puts files shipped under a directory symlink where dpkg would (merged /usr)', () => {
    const trees = assembleTrees([
      {
        name: 'base-files',
        contents: deb([
          entry('usr', 'directory'),
          entry('usr/lib', 'directory'),
          entry('lib', 'symlink', { linkname: 'usr/lib' }),
        ]),
      },
      {
        name: 'libc',
        contents: deb([
          entry('lib', 'directory'),
          entry('lib/libc.so'),
          entry('lib/ld.so', 'link', { linkname: './lib/libc.so' }),
        ]),
      },
    ]);
    const libc = trees.find((t) => t.name === 'libc');
    expect([...(libc?.entries.keys() ?? [])].sort()).toEqual([
      'usr/lib',
      'usr/lib/ld.so',
      'usr/lib/libc.so',
    ]);
    expect(libc?.entries.get('usr/lib/ld.so')).toMatchObject({
      type: 'file',
      data: Buffer.from('lib/libc.so'),
    });
  });

  it('keeps one owner per path: the later package by name', () => {
    const trees = assembleTrees([
      { name: 'b', contents: deb([entry('etc/x', 'file', { data: Buffer.from('b') })]) },
      { name: 'a', contents: deb([entry('etc/x', 'file', { data: Buffer.from('a') })]) },
    ]);
    expect(trees.map((t) => [t.name, [...t.entries.keys()]])).toEqual([
      ['a', []],
      ['b', ['etc/x']],
    ]);
  });

  it('drops documentation but keeps copyright notices', () => {
    expect(isDropped('usr/share/doc/libc6/copyright')).toBe(false);
    expect(isDropped('usr/share/doc/libc6')).toBe(false);
    expect(isDropped('usr/share/doc/libc6/changelog.Debian.gz')).toBe(true);
    expect(isDropped('usr/share/man/man1/ls.1.gz')).toBe(true);
    expect(isDropped('usr/share/zoneinfo/UTC')).toBe(false);
  });

  it("drops the recipe's `drop` globs where the paths land, folder and all, and says which", () => {
    const debs = [
      {
        name: 'base-files',
        contents: deb([entry('usr/lib', 'directory'), entry('lib', 'symlink', { linkname: 'usr/lib' })]),
      },
      {
        name: 'libc6',
        contents: deb([
          entry('lib/x86_64-linux-gnu', 'directory'),
          entry('lib/x86_64-linux-gnu/libc.so.6'),
          entry('lib/x86_64-linux-gnu/gconv', 'directory'),
          entry('lib/x86_64-linux-gnu/gconv/CP1252.so'),
          entry('lib/x86_64-linux-gnu/gconv/gconv-modules.d', 'directory'),
          entry('lib/x86_64-linux-gnu/gconv/gconv-modules.d/gconv-modules-extra.conf'),
          entry('lib/x86_64-linux-gnu/gconvx'),
        ]),
      },
    ];
    const drop = recipeDrop(['/usr/lib/*/gconv']);
    const libc = assembleTrees(debs, [], drop).find((t) => t.name === 'libc6');
    expect([...(libc?.entries.keys() ?? [])].sort()).toEqual([
      'usr/lib/x86_64-linux-gnu',
      'usr/lib/x86_64-linux-gnu/gconvx',
      'usr/lib/x86_64-linux-gnu/libc.so.6',
    ]);
    const indexes = debs.map((d) => ({ name: d.name, index: pathIndexOf(d.contents) }));
    const view = treeView(indexes, [], drop);
    const gone = [
      'usr/lib/x86_64-linux-gnu/gconv/CP1252.so',
      'usr/lib/x86_64-linux-gnu/gconv/gconv-modules.d/gconv-modules-extra.conf',
    ];
    expect(view.dropped.get('libc6')).toEqual(gone);
    // The layer cache key changes with what was dropped, and stays as before without `drop`.
    expect(view.context.get('libc6')?.dropped).toEqual(gone);
    expect(treeView(indexes, []).context.get('libc6')).not.toHaveProperty('dropped');
    expect(recipeDrop([])).toBeUndefined();
    expect(recipeDrop(['/usr/{share/i18n,lib/*/gconv}'])?.('usr/share/i18n/charmaps/x')).toBe(true);
  });

  it('refuses a path that a symlink leads out of the root, and hard links to what the package lacks', () => {
    expect(() => canonicalise('a/b/c', new Map([['a/b', '../../..']]), 'pkg', false)).toThrow(
      PermanentError,
    );
    expect(canonicalise('lib64/ld.so', new Map([['lib64', '/usr/lib64']]), 'pkg', false)).toBe(
      'usr/lib64/ld.so',
    );
    expect(() =>
      assembleTrees([{ name: 'p', contents: deb([entry('x', 'link', { linkname: 'missing' })]) }]),
    ).toThrow(/hard link x/);
  });

  it('adds the parent folders of every entry', () => {
    expect(
      withParents([{ path: 'a/b/c', type: 'file', mode: 0o644 }])
        .map((e) => e.path)
        .sort(),
    ).toEqual(['a', 'a/b', 'a/b/c']);
  });
});

describe('layer plan', () => {
  it('gives each package its own layer, by name', () => {
    expect(
      planLayers([
        { name: 'b', size: 1 },
        { name: 'a', size: 2 },
      ]),
    ).toEqual([['a'], ['b']]);
  });

  it('stays within the layer limit, and a size change moves no package between buckets', () => {
    const many = Array.from({ length: 200 }, (_, i) => ({
      name: `p${String(i).padStart(3, '0')}`,
      size: i,
    }));
    const plan = planLayers(many);
    expect(plan.length + 1).toBeLessThanOrEqual(maxLayers);
    expect(plan.flat().sort()).toEqual(many.map((p) => p.name));
    const changed = planLayers(many.map((p) => (p.name === 'p005' ? { ...p, size: 6 } : p)));
    expect(changed).toEqual(plan);
  });
});

describe('licence from a DEP-5 copyright file', () => {
  it('maps Debian short names to SPDX and joins them', () => {
    const text =
      'Format: https://example.invalid/copyright-format/1.0/\n\nFiles: *\nLicense: GPL-2+\n\nFiles: lib/*\nLicense: Expat\n\nLicense: GPL-2+\n full text\n';
    expect(licenseFromCopyright(text)).toBe('GPL-2.0-or-later AND MIT');
    expect(licenseFromCopyright('This package was debianized by someone.\n')).toBeUndefined();
  });
});
