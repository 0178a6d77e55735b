import { readdir, readFile, rm, writeFile, mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { buildCompactIndex } from '../../src/debian/compact-build.ts';
import { compactPath, readCompact, writeCompact } from '../../src/debian/compact-cache.ts';
import { CompactIndex, CompactIndexError } from '../../src/debian/compact-index.ts';
import { parseControl, type Paragraph } from '../../src/debian/control.ts';
import { PackageSet, type IndexOrigin } from '../../src/debian/package-set.ts';
import type { PackageRecord } from '../../src/debian/packages.ts';
import { parseDependencies } from '../../src/debian/relations.ts';
import { PermanentError } from '../../src/errors.ts';
import { makeDebianRepo, type DebianTestRepo } from '../helpers/debian-repo.ts';

/*
 * The compact form of a Packages index against the general deb822 reader (control.ts) as the
 * reference: every field the resolver and the lockfile read survives the trip, for a slice of
 * the real trixie main/amd64 index (Packages.trixie-sample: the python and static closures plus
 * paragraphs with versioned Provides, Multi-Arch: allowed, :any, binNMU sources, UTF-8 and
 * Pre-Depends) and for the edge cases a mirror can serve. And a cached compact file that is
 * damaged, of another format or for another index is refused and rebuilt.
 */

const origin: IndexOrigin = {
  suite: 'trixie',
  mirror: 'http://127.0.0.1:1',
  indexName: 'trixie/main/binary-amd64/Packages',
};
const sha = (c: string): string => c.repeat(64);

/** A value as the Packages reader joins it: continuation lines trimmed, joined with a space. */
function joined(p: Paragraph, field: string): string | undefined {
  const v = p.get(field);
  return v
    ?.split('\n')
    .map((line) => line.trim())
    .join(' ');
}

/** What the resolver should read for one paragraph, from the general reader. */
function expectedRecord(p: Paragraph): PackageRecord {
  const name = joined(p, 'package') ?? '';
  const version = joined(p, 'version') ?? '';
  const source = /^(\S+)(?:\s+\((\S+)\))?$/.exec(joined(p, 'source') ?? '');
  const ma = joined(p, 'multi-arch');
  return {
    name,
    version,
    arch: joined(p, 'architecture') ?? '',
    multiArch: ma === 'same' || ma === 'foreign' || ma === 'allowed' ? ma : 'no',
    source: source?.[1] ?? name,
    sourceVersion: source?.[2] ?? version,
    preDependsField: joined(p, 'pre-depends'),
    dependsField: joined(p, 'depends'),
    provides: parseDependencies(joined(p, 'provides'), name).flat(),
    filename: joined(p, 'filename') ?? '',
    size: Number(joined(p, 'size')),
    sha256: joined(p, 'sha256') ?? '',
    ...origin,
  };
}

function setOf(text: string, hex = sha('a')): PackageSet {
  const index = new CompactIndex(buildCompactIndex(Buffer.from(text), hex, origin.indexName), hex);
  return new PackageSet([{ index, origin }]);
}

/** Checks every record, and every lookup by name and by provided name, against the reference. */
function expectRoundTrip(text: string): number {
  const seen = new Set<string>();
  const expected = parseControl(text)
    .filter((p) => p.get('package') && p.get('version') && p.get('architecture'))
    .map(expectedRecord)
    // A version listed twice (binary-all and binary-<arch> of one suite) is one package.
    .filter(
      (r) =>
        !seen.has(`${r.name} ${r.version} ${r.arch}`) &&
        !!seen.add(`${r.name} ${r.version} ${r.arch}`),
    );
  const set = setOf(text);
  expect([...set]).toEqual(expected);
  for (const name of new Set(expected.map((r) => r.name)))
    expect(set.named(name)).toEqual(expected.filter((r) => r.name === name));
  const provided = new Set(expected.flatMap((r) => r.provides.map((p) => p.name)));
  for (const name of provided) {
    const want = expected.flatMap((r) =>
      r.provides
        .filter((p) => p.name === name)
        .map((p) => ({
          record: r,
          version: p.constraint?.op === '=' ? p.constraint.version : undefined,
        })),
    );
    expect(set.providing(name)).toEqual(want);
  }
  expect(set.named('no-such-package')).toEqual([]);
  expect(set.providing('no-such-package')).toEqual([]);
  return expected.length;
}

describe('compact Packages index', () => {
  it('keeps every field the resolver reads, for a slice of the real trixie index', async () => {
    const text = await readFile(path.join(import.meta.dirname, 'Packages.trixie-sample'), 'utf8');
    const count = expectRoundTrip(text);
    expect(count).toBeGreaterThan(100);
    // The sample holds each kind of field the resolver distinguishes.
    const all = [...setOf(text)];
    expect(all.some((r) => r.multiArch === 'allowed')).toBe(true);
    expect(all.some((r) => r.provides.some((p) => p.constraint?.op === '='))).toBe(true);
    expect(all.some((r) => r.sourceVersion !== r.version)).toBe(true);
    expect(all.some((r) => r.preDependsField !== undefined)).toBe(true);
    expect(all.some((r) => r.arch === 'all')).toBe(true);
  });

  it('reads what a mirror can serve: CRLF, continuation lines, any case, duplicates, odd values', () => {
    const text = [
      'Package: crlf\r\nVersion: 1\r\nArchitecture: amd64\r\nDepends: a,\r\n b (>= 2)\r\nFilename: pool/c.deb\r\nSize: 1\r\nSHA256: ' +
        sha('b') +
        '\r\n',
      'PACKAGE: upper\nversion: 2:1.0-1\nARCHITECTURE: all\nMulti-Arch: weird\nDepends:\nProvides: v1, v2 (= 3)\nFilename: pool/u.deb\nSize: 9007199254740991\nSHA256: ' +
        sha('c'),
      'Package: dup\nVersion: 1\nArchitecture: amd64\nSource: src (0.9)\nFilename: pool/d.deb\nSize: 3\nSHA256: ' +
        sha('d'),
      'Package: dup\nVersion: 1\nArchitecture: amd64\nFilename: pool/d2.deb\nSize: 3\nSHA256: ' +
        sha('e'),
      'Package: noarch\nVersion: 1\nFilename: pool/n.deb\nSize: 1\nSHA256: ' + sha('f'),
      'Package: spaced\nVersion:   1.0  \nArchitecture: amd64\nDescription: x\n more\nPre-Depends: dup | upper:any\nFilename: pool/s.deb\nSize: 0\nSHA256: ' +
        sha('0'),
    ].join('\n\n');
    expectRoundTrip(text);
    const set = setOf(text);
    // A version listed twice in one suite is one package, the first listing winning.
    expect(set.named('dup').map((r) => r.filename)).toEqual(['pool/d.deb']);
    expect([...set].filter((r) => r.name === 'dup')).toHaveLength(1);
    expect(set.named('crlf')[0]?.dependsField).toBe('a, b (>= 2)');
    expect(set.named('upper')[0]).toMatchObject({ multiArch: 'no', dependsField: '' });
    expect(set.named('noarch')).toEqual([]);
  });

  it('refuses an entry without a SHA256, naming the index and the package', () => {
    const text = 'Package: bad\nVersion: 1\nArchitecture: amd64\nFilename: pool/b.deb\nSize: 1\n';
    expect(() => buildCompactIndex(Buffer.from(text), sha('a'), 'trixie/main/x')).toThrow(
      PermanentError,
    );
    expect(() => buildCompactIndex(Buffer.from(text), sha('a'), 'trixie/main/x')).toThrow(
      'trixie/main/x: bad 1: entry lacks Filename, Size or SHA256',
    );
  });
});

describe('compact index cache', () => {
  let cacheDir: string;
  let repo: DebianTestRepo;
  beforeAll(async () => {
    cacheDir = await mkdtemp(path.join(os.tmpdir(), 'kiln-compact-'));
    repo = await makeDebianRepo(
      [
        { name: 'app', version: '1.0', depends: 'libx (>= 1)' },
        { name: 'libx', version: '1.2', provides: 'libx-abi' },
      ],
      { suites: ['stable'], archs: ['amd64'] },
    );
  }, 120_000);
  afterAll(async () => {
    await repo?.close();
    await rm(cacheDir, { recursive: true, force: true });
  });

  it('refuses a damaged file, one of another format and one made from another index', async () => {
    const text = await readFile(path.join(import.meta.dirname, 'Packages.trixie-sample'));
    const data = buildCompactIndex(text, sha('1'), origin.indexName);
    await writeCompact(cacheDir, sha('1'), data);
    expect((await readCompact(cacheDir, sha('1')))?.size).toBeGreaterThan(100);

    const damaged = Buffer.from(data);
    const middle = Math.floor(damaged.length / 2);
    damaged[middle] = (damaged[middle] ?? 0) ^ 0x40;
    expect(() => new CompactIndex(damaged, sha('1'))).toThrow(CompactIndexError);
    await writeFile(compactPath(cacheDir, sha('1')), damaged);
    expect(await readCompact(cacheDir, sha('1'))).toBeUndefined();
    // Refused files are removed, so the next load writes a good one.
    await expect(readFile(compactPath(cacheDir, sha('1')))).rejects.toThrow();

    const otherVersion = Buffer.from(data);
    otherVersion.writeUInt32LE(999, 8);
    expect(() => new CompactIndex(otherVersion, sha('1'))).toThrow('another format version');
    expect(() => new CompactIndex(data, sha('2'))).toThrow('made from another index');
    expect(() => new CompactIndex(data.subarray(0, 100), sha('1'))).toThrow(CompactIndexError);
  });

  it('opened from its file (lookup tables in memory, the rest read on demand), reads the same', async () => {
    const text = await readFile(path.join(import.meta.dirname, 'Packages.trixie-sample'));
    const data = buildCompactIndex(text, sha('3'), origin.indexName);
    await writeCompact(cacheDir, sha('3'), data);
    const opened = CompactIndex.open(compactPath(cacheDir, sha('3')), sha('3'));
    const inMemory = new CompactIndex(data, sha('3'));
    expect(opened.size).toBe(inMemory.size);
    expect(opened.bytes).toBeLessThan(data.length / 2);
    const all = (index: CompactIndex) => [...new PackageSet([{ index, origin }])];
    expect(all(opened)).toEqual(all(inMemory));
    const names = all(inMemory).map((r) => r.name);
    for (const name of names.slice(0, 200))
      expect(opened.named(name)).toEqual(inMemory.named(name));
    expect(opened.named('no-such-package')).toHaveLength(0);
  });

  it.each([
    ['truncated', (d: Buffer) => d.subarray(0, d.length - 100)],
    ['with bytes appended', (d: Buffer) => Buffer.concat([d, Buffer.alloc(16)])],
    [
      'a byte of a string changed',
      (d: Buffer) => {
        const copy = Buffer.from(d);
        copy[copy.length - 200] = (copy[copy.length - 200] ?? 0) ^ 0x20;
        return copy;
      },
    ],
  ])('refuses and removes a file %s', async (_, damage) => {
    const text = await readFile(path.join(import.meta.dirname, 'Packages.trixie-sample'));
    const data = buildCompactIndex(text, sha('4'), origin.indexName);
    await writeCompact(cacheDir, sha('4'), damage(data));
    expect(() => CompactIndex.open(compactPath(cacheDir, sha('4')), sha('4'))).toThrow(
      CompactIndexError,
    );
    expect(await readCompact(cacheDir, sha('4'))).toBeUndefined();
    await expect(readFile(compactPath(cacheDir, sha('4')))).rejects.toThrow();
  });

  /** A fresh archive module: its in-process memo empty, as in a new `kiln build`. */
  async function freshLoad() {
    vi.resetModules();
    const { loadArchive } = await import('../../src/debian/archive.ts');
    const archive = await loadArchive({
      sources: [{ suite: 'stable', mirror: repo.url, mirrors: [repo.url], keyring: repo.keyring }],
      components: ['main'],
      archs: ['amd64'],
      cacheDir,
    });
    const set = archive.packages.get('amd64');
    return { app: set?.named('app'), abi: set?.providing('libx-abi').map((p) => p.record.name) };
  }

  const indexRequests = () => repo.requests.filter((r) => /Packages|by-hash/.test(r));

  it('loads a warm index from its compact form alone, and rebuilds a damaged one', async () => {
    const cold = await freshLoad();
    expect(cold.app?.map((r) => r.version)).toEqual(['1.0']);
    expect(cold.abi).toEqual(['libx']);
    const dir = path.dirname(compactPath(cacheDir, sha('0')));
    const [file] = (await readdir(dir)).filter((f) => f !== sha('1'));
    if (!file) throw new Error('no compact index was cached');
    const good = await readFile(path.join(dir, file));

    // Warm: the compressed index is not even needed (nothing decompressed, nothing fetched).
    await rm(path.join(cacheDir, 'debian', 'blobs'), { recursive: true, force: true });
    repo.requests.length = 0;
    expect(await freshLoad()).toEqual(cold);
    expect(indexRequests()).toEqual([]);

    // Damaged: refused, the index fetched and parsed again, the same packages, a good file again.
    const damaged = Buffer.from(good);
    damaged[damaged.length - 40] = (damaged[damaged.length - 40] ?? 0) ^ 0x01;
    await writeFile(path.join(dir, file), damaged);
    repo.requests.length = 0;
    expect(await freshLoad()).toEqual(cold);
    expect(indexRequests()).toHaveLength(1);
    expect(await readFile(path.join(dir, file))).toEqual(good);
  });
});
