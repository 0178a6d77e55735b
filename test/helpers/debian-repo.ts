import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { mkdir, mkdtemp, readFile, rm, writeFile, chmod } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { execa } from 'execa';
import tar from 'tar-stream';

/*
 * A real, signed Debian repository made in a temp folder for hermetic tests: packages built with
 * dpkg-deb, indexes and Release written by apt-ftparchive, InRelease clear-signed with a
 * throwaway gpg key, all served by a tiny HTTP server on loopback.
 */

/** One package to put in the repository. */
export interface FakePackage {
  name: string;
  version: string;
  arch?: string;
  depends?: string;
  preDepends?: string;
  provides?: string;
  multiArch?: 'same' | 'foreign' | 'allowed';
  /** `Source:` as a Packages index writes it: `name` or `name (version)`. */
  source?: string;
  /** Files: path inside the image → content (string or bytes) or `{ symlink }` or `{ data, mode }`. */
  files?: Record<
    string,
    string | Buffer | { symlink: string } | { data: string | Buffer; mode: number }
  >;
  /** Raw data.tar entries written by hand (dpkg-deb refuses hostile paths): for attack tests. */
  rawDataEntries?: {
    name: string;
    type?: 'file' | 'symlink' | 'directory';
    data?: string;
    linkname?: string;
  }[];
  suite?: string;
}

/** How the repository misbehaves, as real mirrors do mid-sync. Mutable: tests flip it between requests. */
export interface MirrorFaults {
  /**
   * Plain index names (`…/Packages.gz`, `…/Packages.xz`, `…/Packages`) answer with their previous
   * content (before the last {@link DebianTestRepo.update}; an empty index before any update), while
   * InRelease already describes the new one. `true` for every index, or the names to break
   * (relative to `dists/<suite>/`, e.g. `main/binary-amd64/Packages.gz`).
   */
  staleIndexes: boolean | string[];
  /** `by-hash/SHA256/<hex>` copies answer 404. */
  byHashMissing: boolean;
}

export interface DebianTestRepo {
  /** Mirror root URL, e.g. `http://127.0.0.1:1234`. */
  url: string;
  dir: string;
  /** Binary keyring holding the throwaway public key. */
  keyring: string;
  /** A keyring with another key, for bad-signature tests. */
  otherKeyring: string;
  /** Every request's path (and query), in order. */
  requests: string[];
  /** The mirror's current misbehaviour; all off by default. */
  faults: MirrorFaults;
  /** Rewrites a file under the repository root (for tampering tests). */
  tamper(relPath: string, change: (data: Buffer) => Buffer): Promise<void>;
  /**
   * Publishes a new state at the same URL, as the archive does: new pool files, new indexes (the
   * old ones kept as by-hash copies and as the stale content of {@link MirrorFaults.staleIndexes}),
   * and a newly signed InRelease.
   */
  update(packages: FakePackage[], options?: PublishOptions): Promise<void>;
  close(): Promise<void>;
}

/** One published state of the repository. */
export interface PublishOptions {
  /** The Release's `Date:` (default: now, as apt-ftparchive writes it). */
  date?: Date;
}

/** How the repository is laid out; the defaults look like a current Debian mirror. */
export interface DebianRepoOptions {
  suites?: string[];
  archs?: string[];
  /** Write `by-hash/SHA256/<hex>` copies and `Acquire-By-Hash: yes` (default true). */
  byHash?: boolean;
  /**
   * Also write `binary-all` indexes (every `Architecture: all` package, which the per-arch indexes
   * list too) and name `all` in Architectures (default true). With {@link noAllInArchIndexes}
   * false, the Release omits `No-Support-for-Architecture-all: Packages`, as older archives did.
   */
  binaryAll?: boolean;
  /** Write `No-Support-for-Architecture-all: Packages`, as Debian's archive does (default true). */
  noAllInArchIndexes?: boolean;
  /** The first state's Release `Date:` (default: now); later ones are given to `update`. */
  date?: Date;
}

async function gpg(home: string, args: string[], input?: string): Promise<string> {
  const r = await execa(
    'gpg',
    [
      '--homedir',
      home,
      '--batch',
      '--yes',
      '--pinentry-mode',
      'loopback',
      '--passphrase',
      '',
      ...args,
    ],
    { input },
  );
  return r.stdout;
}

async function makeKey(dir: string, name: string): Promise<{ home: string; keyring: string }> {
  const home = path.join(dir, `gnupg-${name}`);
  await mkdir(home, { recursive: true });
  await chmod(home, 0o700);
  await gpg(home, [
    '--quick-gen-key',
    `kiln test ${name} <${name}@kiln.invalid>`,
    'ed25519',
    'sign',
    'never',
  ]);
  const keyring = path.join(dir, `${name}.gpg`);
  await execa('gpg', ['--homedir', home, '--batch', '--export', '--output', keyring]);
  return { home, keyring };
}

function controlText(p: FakePackage, arch: string): string {
  const lines = [
    `Package: ${p.name}`,
    `Version: ${p.version}`,
    `Architecture: ${arch}`,
    'Maintainer: kiln tests <tests@kiln.invalid>',
    ...(p.source ? [`Source: ${p.source}`] : []),
    ...(p.multiArch ? [`Multi-Arch: ${p.multiArch}`] : []),
    ...(p.preDepends ? [`Pre-Depends: ${p.preDepends}`] : []),
    ...(p.depends ? [`Depends: ${p.depends}`] : []),
    ...(p.provides ? [`Provides: ${p.provides}`] : []),
    `Description: test package ${p.name}`,
    ' made by kiln tests.',
  ];
  return `${lines.join('\n')}\n`;
}

async function buildWithDpkgDeb(
  p: FakePackage,
  arch: string,
  work: string,
  out: string,
): Promise<void> {
  const root = path.join(work, `${p.name}_${p.version}_${arch}`);
  await mkdir(path.join(root, 'DEBIAN'), { recursive: true });
  await writeFile(path.join(root, 'DEBIAN', 'control'), controlText(p, arch));
  for (const [rel, content] of Object.entries(p.files ?? {})) {
    const file = path.join(root, rel);
    await mkdir(path.dirname(file), { recursive: true });
    if (typeof content === 'object' && 'symlink' in content) {
      await execa('ln', ['-s', content.symlink, file]);
    } else if (typeof content === 'object' && 'mode' in content) {
      await writeFile(file, content.data);
      await chmod(file, content.mode);
    } else {
      await writeFile(file, content);
    }
  }
  // SOURCE_DATE_EPOCH clamps every mtime dpkg-deb writes: the same package gives the same bytes.
  await execa('dpkg-deb', ['--root-owner-group', '-Zxz', '--build', root, out], {
    env: { SOURCE_DATE_EPOCH: '1700000000' },
  });
}

/** A .deb assembled by hand (ar + tar), so hostile entries dpkg-deb would refuse can be made. */
async function buildByHand(p: FakePackage, arch: string, out: string): Promise<void> {
  const tarOf = async (
    entries: {
      name: string;
      type?: 'file' | 'symlink' | 'directory';
      data?: string;
      linkname?: string;
    }[],
  ): Promise<Buffer> => {
    const pack = tar.pack();
    const chunks: Buffer[] = [];
    pack.on('data', (c: unknown) => {
      if (Buffer.isBuffer(c)) chunks.push(c);
    });
    const done = new Promise<void>((r) => pack.on('end', () => r()));
    for (const e of entries) {
      const type = e.type ?? 'file';
      if (type === 'file') pack.entry({ name: e.name, mode: 0o644 }, e.data ?? '');
      else pack.entry({ name: e.name, type, mode: 0o755, linkname: e.linkname });
    }
    pack.finalize();
    await done;
    return gzipSync(Buffer.concat(chunks));
  };
  const control = await tarOf([{ name: './control', data: controlText(p, arch) }]);
  const data = await tarOf(p.rawDataEntries ?? []);
  const member = (name: string, body: Buffer): Buffer => {
    const header = `${name.padEnd(16)}${'0'.padEnd(12)}${'0'.padEnd(6)}${'0'.padEnd(6)}${'100644'.padEnd(8)}${String(body.length).padEnd(10)}\`\n`;
    return Buffer.concat([
      Buffer.from(header, 'latin1'),
      body,
      body.length % 2 ? Buffer.from('\n') : Buffer.alloc(0),
    ]);
  };
  await writeFile(
    out,
    Buffer.concat([
      Buffer.from('!<arch>\n'),
      member('debian-binary', Buffer.from('2.0\n')),
      member('control.tar.gz', control),
      member('data.tar.gz', data),
    ]),
  );
}

const compressors: Record<string, (text: string) => Promise<Buffer>> = {
  Packages: (text) => Promise.resolve(Buffer.from(text)),
  'Packages.gz': (text) => Promise.resolve(gzipSync(text)),
  'Packages.xz': async (text) =>
    (await execa('xz', ['-c'], { input: text, encoding: 'buffer' })).stdout as Buffer,
};

/** Builds, indexes, signs and serves a repository with the given packages. */
export async function makeDebianRepo(
  packages: FakePackage[],
  options: DebianRepoOptions = {},
): Promise<DebianTestRepo> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'kiln-debrepo-'));
  const archs = options.archs ?? ['amd64', 'arm64'];
  const suites = options.suites ?? [...new Set(packages.map((p) => p.suite ?? 'stable'))];
  const byHash = options.byHash ?? true;
  const binaryAll = options.binaryAll ?? true;
  const noAllInArchIndexes = options.noAllInArchIndexes ?? true;
  const [signer, other] = await Promise.all([makeKey(dir, 'signer'), makeKey(dir, 'other')]);
  /** Content-addressed copies of every index ever published (what by-hash serves). */
  const byHashStore = new Map<string, Buffer>();
  /** `dists/<suite>/<name>` → the content it had before the last update. */
  const previous = new Map<string, Buffer>();

  async function publish(set: FakePackage[], publishOptions: PublishOptions = {}): Promise<void> {
    const work = path.join(dir, 'work');
    for (const suite of suites) {
      const pool = path.join(dir, 'pool', suite);
      await rm(pool, { recursive: true, force: true });
      await mkdir(pool, { recursive: true });
      for (const p of set.filter((x) => (x.suite ?? 'stable') === suite)) {
        const arch = p.arch ?? 'amd64';
        const out = path.join(pool, `${p.name}_${p.version.replace(/^\d+:/, '')}_${arch}.deb`);
        if (p.rawDataEntries) await buildByHand(p, arch, out);
        else await buildWithDpkgDeb(p, arch, work, out);
      }
      const dists = path.join(dir, 'dists', suite);
      const indexArchs = binaryAll ? [...archs, 'all'] : archs;
      for (const arch of indexArchs) {
        const bin = path.join(dists, 'main', `binary-${arch}`);
        await mkdir(bin, { recursive: true });
        // apt-ftparchive --arch X lists X and `all`; binary-all itself holds only `all`.
        const { stdout } = await execa(
          'apt-ftparchive',
          ['--arch', arch === 'all' ? 'none' : arch, 'packages', `pool/${suite}`],
          { cwd: dir },
        );
        const text = stdout.length > 0 ? `${stdout}\n` : '';
        for (const [name, compress] of Object.entries(compressors)) {
          const file = path.join(bin, name);
          const old = await readFile(file).catch(() => undefined);
          previous.set(path.relative(dir, file), old ?? (await compress('')));
          const body = await compress(arch === 'all' ? allOnly(text) : text);
          await writeFile(file, body);
          byHashStore.set(createHash('sha256').update(body).digest('hex'), body);
        }
      }
      const { stdout: release } = await execa(
        'apt-ftparchive',
        [
          '-o',
          `APT::FTPArchive::Release::Suite=${suite}`,
          '-o',
          `APT::FTPArchive::Release::Codename=${suite}`,
          '-o',
          `APT::FTPArchive::Release::Architectures=${(binaryAll ? ['all', ...archs] : archs).join(' ')}`,
          '-o',
          'APT::FTPArchive::Release::Components=main',
          'release',
          '.',
        ],
        { cwd: dists },
      );
      const extra = [
        ...(byHash ? ['Acquire-By-Hash: yes'] : []),
        ...(binaryAll && noAllInArchIndexes ? ['No-Support-for-Architecture-all: Packages'] : []),
      ];
      const dated = publishOptions.date
        ? release.replace(/^Date: .*$/m, `Date: ${publishOptions.date.toUTCString()}`)
        : release;
      const text = dated.replace(/^MD5Sum:/m, `${extra.map((l) => `${l}\n`).join('')}MD5Sum:`);
      await writeFile(path.join(dists, 'Release'), `${text}\n`);
      await gpg(signer.home, [
        '--clearsign',
        '--output',
        path.join(dists, 'InRelease'),
        path.join(dists, 'Release'),
      ]);
    }
    await rm(work, { recursive: true, force: true });
  }
  await publish(packages, { date: options.date });

  const requests: string[] = [];
  const faults: MirrorFaults = { staleIndexes: false, byHashMissing: false };
  const isStale = (rel: string): boolean => {
    const m = /^dists\/[^/]+\/(.+)$/.exec(rel);
    if (!m?.[1] || !/\/Packages(\.gz|\.xz)?$/.test(m[1])) return false;
    return (
      faults.staleIndexes === true ||
      (Array.isArray(faults.staleIndexes) && faults.staleIndexes.includes(m[1]))
    );
  };
  const server: Server = createServer((req, res) => {
    requests.push(req.url ?? '/');
    const rel = path.posix
      .normalize(decodeURIComponent((req.url ?? '/').split('?')[0] ?? '/'))
      .replace(/^\/+/, '');
    const send = (body: Buffer | undefined): void => {
      if (body) res.writeHead(200, { 'content-length': body.length }).end(body);
      else res.writeHead(404).end();
    };
    const hashed = /^dists\/.+\/by-hash\/SHA256\/([a-f0-9]{64})$/.exec(rel);
    if (hashed) {
      send(faults.byHashMissing || !byHash ? undefined : byHashStore.get(hashed[1] ?? ''));
      return;
    }
    if (isStale(rel)) {
      send(previous.get(rel));
      return;
    }
    const file = path.join(dir, rel);
    if (!file.startsWith(dir + path.sep)) {
      res.writeHead(403).end();
      return;
    }
    readFile(file).then(send, () => send(undefined));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address: AddressInfo | string | null = server.address();
  if (!address || typeof address === 'string')
    throw new Error('test Debian repository: server has no port');
  const port = address.port;
  return {
    url: `http://127.0.0.1:${port}`,
    dir,
    keyring: signer.keyring,
    otherKeyring: other.keyring,
    requests,
    faults,
    async tamper(relPath, change) {
      const file = path.join(dir, relPath);
      await writeFile(file, change(await readFile(file)));
    },
    update: publish,
    async close() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** The `Architecture: all` paragraphs of an index text. */
function allOnly(text: string): string {
  const paragraphs = text.split(/\n\n+/).filter((p) => /^Architecture: all$/m.test(p));
  return paragraphs.length > 0 ? `${paragraphs.join('\n\n')}\n\n` : '';
}

/**
 * One package of a shipped recipe's closure as the archive lists it (test/debian/
 * shipped-closures.json: static and python 3.13/3.11, the real trixie and bookworm relations).
 */
export interface ClosureRecord {
  suite: string;
  name: string;
  version: string;
  arch: string;
  multiArch?: 'same' | 'foreign' | 'allowed';
  source?: string;
  preDepends?: string;
  depends?: string;
  provides?: string;
}

/** The suites the shipped closures come from. */
export const shippedClosureSuites = [
  'trixie',
  'trixie-updates',
  'trixie-security',
  'bookworm',
  'bookworm-updates',
  'bookworm-security',
];

/** Every record of test/debian/shipped-closures.json. */
export async function shippedClosures(): Promise<ClosureRecord[]> {
  const file = path.join(import.meta.dirname, '../debian/shipped-closures.json');
  return JSON.parse(await readFile(file, 'utf8')) as ClosureRecord[];
}

/**
 * Small, fixed files per closure package: a copyright (for the SBOM's licence), and what the
 * debian builder reads (CA certificates, the UTC zone, python's interpreter path). The pinned
 * image digests of test/debian/pinned-output.test.ts depend on these bytes.
 */
export function closureFiles(r: ClosureRecord): FakePackage['files'] {
  const files: NonNullable<FakePackage['files']> = {
    [`usr/share/doc/${r.name}/copyright`]: `Format: https://example.invalid/copyright-format/1.0/\n\nFiles: *\nCopyright: nobody\nLicense: MIT\n`,
    [`usr/share/kiln-test/${r.name}`]: `${r.name} ${r.version} ${r.suite}\n`,
  };
  if (r.name === 'ca-certificates')
    files['usr/share/ca-certificates/mozilla/Kiln_Test_Root.crt'] =
      `-----BEGIN CERTIFICATE-----\nMIIB${r.version}\n-----END CERTIFICATE-----\n`;
  if (r.name === 'tzdata') files['usr/share/zoneinfo/UTC'] = `TZif ${r.version}\n`;
  if (/^python3\.\d+-minimal$/.test(r.name))
    files[`usr/bin/${r.name.replace('-minimal', '')}`] = { data: '#!fake\n', mode: 0o755 };
  return files;
}
