import { createHash } from 'node:crypto';
import {
  chmod,
  mkdir,
  mkdtemp,
  readFile,
  realpath,
  rm,
  symlink,
  writeFile,
} from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readTar, type TarEntry } from '../../debian/deb.ts';
import type { Lockfile } from '../../debian/lockfile.ts';
import { OciLayout } from '../../oci/layout.ts';
import type { ImageManifest } from '../../oci/media-types.ts';
import type { LayerEntry } from '../../oci/tar.ts';
import { recipeSchema } from '../../recipe/schema.ts';
import { hostArch } from '../host-arch.ts';
import { accountsOf } from './accounts.ts';
import { writeArchImage } from './image.ts';
import { mergedUsrAliases } from './merged-usr.ts';
import type { FetchedDeb } from './packages.ts';

/*
 * The merged-/usr aliases through the real image writer: .debs made with dpkg-deb, laid out by
 * writeArchImage, read back layer by layer, and paths resolved through the symlinks the layers
 * hold, as a container runtime sees the unpacked root.
 */

type Files = Record<string, Buffer | { symlink: string }>;

/** glibc's dynamic loader as trixie's libc6 ships it, per arch: the file and its alias link. */
const loaders: Record<string, { interp: string; files: Files }> = {
  amd64: {
    interp: '/lib64/ld-linux-x86-64.so.2',
    files: {
      'usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2': Buffer.from('loader amd64'),
      'usr/lib64/ld-linux-x86-64.so.2': {
        symlink: '../lib/x86_64-linux-gnu/ld-linux-x86-64.so.2',
      },
    },
  },
  arm64: {
    interp: '/lib/ld-linux-aarch64.so.1',
    files: {
      'usr/lib/aarch64-linux-gnu/ld-linux-aarch64.so.1': Buffer.from('loader arm64'),
      'usr/lib/ld-linux-aarch64.so.1': { symlink: 'aarch64-linux-gnu/ld-linux-aarch64.so.1' },
    },
  },
};

let work: string;
beforeAll(async () => {
  work = await mkdtemp(path.join(os.tmpdir(), 'kiln-merged-usr-'));
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

async function makeDeb(name: string, arch: string, files: Files): Promise<Buffer> {
  const root = path.join(work, `${name}-${arch}-${Math.random().toString(36).slice(2)}`);
  await mkdir(path.join(root, 'DEBIAN'), { recursive: true });
  await writeFile(
    path.join(root, 'DEBIAN', 'control'),
    `Package: ${name}\nVersion: 1.0\nArchitecture: ${arch}\nMaintainer: kiln tests <t@kiln.invalid>\nDescription: ${name}\n test package\n`,
  );
  for (const [rel, content] of Object.entries(files)) {
    const file = path.join(root, rel);
    await mkdir(path.dirname(file), { recursive: true });
    if (Buffer.isBuffer(content)) {
      await writeFile(file, content);
      await chmod(file, 0o755);
    } else await symlink(content.symlink, file);
  }
  const out = `${root}.deb`;
  await execa('dpkg-deb', ['--root-owner-group', '-Zgzip', '--build', root, out]);
  return readFile(out);
}

/** Builds one arch's image from the given packages and returns its layers' entries, in order. */
async function image(
  arch: string,
  packages: Record<string, Files>,
  extra: { workdir?: string; files?: LayerEntry[] } = {},
): Promise<{ digest: string; layers: TarEntry[][] }> {
  const recipe = recipeSchema.parse({
    name: 'no-base-files',
    description: 'test image',
    license: 'MIT',
    upstream: { debian: { package: 'libc6', suite: 'trixie' } },
    versions: { scheme: 'debian' },
    build: {
      builder: 'debian',
      archs: [arch],
      contents: { suites: ['trixie'], packages: ['x'] },
      ...(extra.workdir ? { workdir: extra.workdir } : {}),
    },
  });
  const debs: FetchedDeb[] = [];
  for (const [name, files] of Object.entries(packages)) {
    const bytes = await makeDeb(name, arch, files);
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    debs.push({
      bytes,
      locked: {
        name,
        version: '1.0',
        arch,
        source: name,
        'source-version': '1.0',
        suite: 'trixie',
        filename: `pool/${name}.deb`,
        size: bytes.length,
        sha256,
      },
    });
  }
  const lock: Lockfile = {
    'lockfile-version': 1,
    arch,
    suites: ['trixie'],
    packages: debs.map((d) => d.locked),
    excluded: [],
  };
  const dir = path.join(work, `layout-${Math.random().toString(36).slice(2)}`);
  const layout = await OciLayout.create(dir);
  const out = await writeArchImage({
    layout,
    recipe,
    lock,
    debs,
    cacheDir: path.join(dir, 'cache'),
    accounts: accountsOf(recipe),
    annotations: {},
    sourceDateEpoch: 0,
    ...(extra.files ? { files: extra.files } : {}),
  });
  const manifest = await layout.readJson<ImageManifest>(out.manifest.digest);
  const layers = await Promise.all(
    manifest.layers.map(async (l) =>
      readTar(gunzipSync(await layout.readBlob(l.digest)), l.digest),
    ),
  );
  return { digest: out.manifest.digest, layers };
}

/** The unpacked root: later layers win, as when a runtime applies them in order. */
function rootOf(layers: TarEntry[][]): Map<string, TarEntry> {
  const root = new Map<string, TarEntry>();
  for (const layer of layers) for (const e of layer) root.set(e.path, e);
  return root;
}

/** Resolves an absolute path in the root as the kernel would, following every symlink. */
function resolveIn(root: Map<string, TarEntry>, absolute: string): TarEntry | undefined {
  let parts = absolute.split('/').filter(Boolean);
  for (let i = 0, hops = 0; i < parts.length; i++) {
    const here = parts.slice(0, i + 1).join('/');
    const e = root.get(here);
    if (!e) return undefined;
    if (e.type !== 'symlink') continue;
    if (++hops > 40) return undefined;
    const target = e.linkname ?? '';
    const base = target.startsWith('/')
      ? target
      : path.posix.join('/', path.posix.dirname(here), target);
    parts = [...path.posix.normalize(base).split('/').filter(Boolean), ...parts.slice(i + 1)];
    i = -1;
  }
  return root.get(parts.join('/'));
}

/** PT_INTERP of a 64-bit little-endian ELF file: the loader path the kernel opens first. */
function elfInterpreter(elf: Buffer): string | undefined {
  if (elf.readUInt32BE(0) !== 0x7f454c46 || elf[4] !== 2 || elf[5] !== 1) return undefined;
  const phoff = Number(elf.readBigUInt64LE(0x20));
  const phentsize = elf.readUInt16LE(0x36);
  for (let i = 0; i < elf.readUInt16LE(0x38); i++) {
    const ph = phoff + i * phentsize;
    if (elf.readUInt32LE(ph) !== 3) continue;
    const offset = Number(elf.readBigUInt64LE(ph + 8));
    const size = Number(elf.readBigUInt64LE(ph + 0x20));
    return elf
      .subarray(offset, offset + size)
      .toString('latin1')
      .replace(/\0+$/, '');
  }
  return undefined;
}

describe('merged-/usr aliases', () => {
  it('follow trixie’s base-files per arch: lib64 only where glibc’s loader lives there', () => {
    expect(mergedUsrAliases('amd64')).toEqual([
      ['bin', 'usr/bin'],
      ['lib', 'usr/lib'],
      ['lib64', 'usr/lib64'],
      ['sbin', 'usr/sbin'],
    ]);
    expect(mergedUsrAliases('arm64').map(([p]) => p)).toEqual(['bin', 'lib', 'sbin']);
    expect(mergedUsrAliases('ppc64el').map(([p]) => p)).toContain('lib64');
    expect(mergedUsrAliases('s390x').map(([p]) => p)).not.toContain('lib64');
  });

  for (const arch of ['amd64', 'arm64']) {
    it(`exist in a ${arch} image without base-files, and glibc’s interpreter path resolves`, async () => {
      const loader = loaders[arch];
      if (!loader) throw new Error(arch);
      const { layers } = await image(arch, {
        libc6: loader.files,
        hello: { 'usr/bin/hello': Buffer.from('hello') },
      });
      const base = new Map((layers[0] ?? []).map((e) => [e.path, e]));
      for (const [alias, target] of mergedUsrAliases(arch))
        expect(base.get(alias)).toMatchObject({ type: 'symlink', linkname: target });
      const root = rootOf(layers);
      expect(resolveIn(root, loader.interp)).toMatchObject({
        type: 'file',
        data: Buffer.from(`loader ${arch}`),
      });
      expect(resolveIn(root, '/bin/hello')?.data).toEqual(Buffer.from('hello'));
      expect(resolveIn(root, '/sbin')?.type).toBe('directory');
    });
  }

  it.skipIf(hostArch() !== 'amd64' && hostArch() !== 'arm64')(
    'resolve the ELF interpreter of a real dynamically linked binary inside the image',
    async () => {
      const arch = hostArch();
      const loader = loaders[arch];
      if (!loader) throw new Error(arch);
      // The host's own `true`: a real ELF whose PT_INTERP names the aliased path.
      const binary = await readFile(await realpath('/usr/bin/true'));
      const interp = elfInterpreter(binary);
      expect(interp).toBe(loader.interp);
      const { layers } = await image(arch, {
        coreutils: { 'usr/bin/true': binary },
        libc6: loader.files,
      });
      const root = rootOf(layers);
      expect(resolveIn(root, '/usr/bin/true')?.data).toEqual(binary);
      expect(resolveIn(root, interp ?? '')?.type).toBe('file');
    },
  );

  it('appear once, in the base layer, when base-files ships them too; the build is deterministic', async () => {
    const aliases = Object.fromEntries(
      mergedUsrAliases('amd64').map(([p, target]) => [p, { symlink: target }]),
    );
    const packages = {
      'base-files': { ...aliases, 'etc/debian_version': Buffer.from('13.8\n') },
      libc6: loaders.amd64?.files ?? {},
    };
    const a = await image('amd64', packages);
    const b = await image('amd64', packages);
    expect(b.digest).toBe(a.digest);
    const nonFolders = a.layers.flatMap((layer, n) =>
      layer.filter((e) => e.type !== 'directory').map((e) => `${e.path} (layer ${n})`),
    );
    for (const [alias] of mergedUsrAliases('amd64'))
      expect(nonFolders.filter((p) => p.startsWith(`${alias} (`))).toEqual([`${alias} (layer 0)`]);
    const paths = nonFolders.map((p) => p.replace(/ \(layer \d+\)$/, ''));
    expect(new Set(paths).size).toBe(paths.length);
    expect(resolveIn(rootOf(a.layers), '/lib64/ld-linux-x86-64.so.2')?.type).toBe('file');
  });

  it('place the workdir and recipe files through them, never as a folder over an alias', async () => {
    const { layers } = await image(
      'amd64',
      { libc6: loaders.amd64?.files ?? {} },
      {
        workdir: '/lib/app',
        files: [
          { path: 'bin', type: 'directory', mode: 0o755 },
          { path: 'bin/tool', type: 'file', mode: 0o755, data: Buffer.from('tool') },
        ],
      },
    );
    for (const layer of layers)
      for (const e of layer)
        if (['bin', 'lib', 'lib64', 'sbin'].includes(e.path)) expect(e.type).toBe('symlink');
    const root = rootOf(layers);
    expect(resolveIn(root, '/bin/tool')?.data).toEqual(Buffer.from('tool'));
    expect(root.get('usr/bin/tool')?.type).toBe('file');
    expect(root.get('usr/lib/app')?.type).toBe('directory');
  });
});
