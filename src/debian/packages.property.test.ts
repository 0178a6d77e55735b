import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PermanentError } from '../errors.ts';
import { buildCompactIndex } from './compact-build.ts';
import { CompactIndex } from './compact-index.ts';
import { recordOf } from './package-set.ts';

const sha = 'f'.repeat(64);
const origin = { suite: 'trixie', mirror: 'http://mirror.invalid/debian', indexName: 'fuzz' };

const pkgName = fc.stringMatching(/^[a-z0-9][a-z0-9+.-]{0,12}$/);
const pkgVersion = fc.stringMatching(/^([1-9]:)?[0-9][a-z0-9.+~]{0,8}(-[a-z0-9.+~]{1,4})?$/);
const relation = fc
  .tuple(pkgName, fc.option(fc.tuple(fc.constantFrom('>=', '<<', '='), pkgVersion)))
  .map(([n, c]) => (c ? `${n} (${c[0]} ${c[1]})` : n));
const entry = fc.record({
  name: pkgName,
  version: pkgVersion,
  arch: fc.constantFrom('amd64', 'arm64', 'all'),
  multiArch: fc.constantFrom(undefined, 'same', 'foreign', 'allowed'),
  source: fc.option(pkgName, { nil: undefined }),
  depends: fc.option(fc.array(relation, { minLength: 1, maxLength: 3 }), { nil: undefined }),
  provides: fc.option(fc.array(pkgName, { minLength: 1, maxLength: 2 }), { nil: undefined }),
  size: fc.integer({ min: 0, max: 2 ** 40 }),
  sha256: fc.stringMatching(/^[a-f0-9]{64}$/),
  /** A field kiln does not read, long and not Latin-1, as real indexes have. */
  description: fc.string({ maxLength: 40 }).map((s) => s.replace(/\n/g, ' ').trim() || 'x'),
});
type Entry = typeof entry extends fc.Arbitrary<infer T> ? T : never;

function paragraph(e: Entry): string {
  return [
    `Package: ${e.name}`,
    ...(e.source ? [`Source: ${e.source}`] : []),
    `Version: ${e.version}`,
    `Architecture: ${e.arch}`,
    ...(e.multiArch ? [`Multi-Arch: ${e.multiArch}`] : []),
    ...(e.depends ? [`Depends: ${e.depends.join(', ')}`] : []),
    ...(e.provides ? [`Provides: ${e.provides.join(', ')}`] : []),
    `Description: ${e.description}`,
    ` more text Ünïcödé`,
    `Filename: pool/main/${e.name}_${e.version}_${e.arch}.deb`,
    `Size: ${e.size}`,
    `SHA256: ${e.sha256}`,
  ].join('\n');
}

function outcome(text: Buffer): 'ok' | 'refused' {
  try {
    new CompactIndex(buildCompactIndex(text, sha, 'fuzz'), sha);
    return 'ok';
  } catch (error) {
    expect(error, String(error)).toBeInstanceOf(PermanentError);
    expect((error as Error).message).toMatch(/^fuzz/);
    return 'refused';
  }
}

describe('Packages index parsing, by property', () => {
  it('keeps every field kiln reads, for any index a mirror could serve', () => {
    fc.assert(
      fc.property(fc.array(entry, { minLength: 1, maxLength: 8 }), (entries) => {
        const text = Buffer.from(`${entries.map(paragraph).join('\n\n')}\n`);
        const index = new CompactIndex(buildCompactIndex(text, sha, 'fuzz'), sha);
        expect(index.size).toBe(entries.length);
        entries.forEach((e, id) => {
          const r = recordOf(index, id, origin);
          expect(r).toMatchObject({
            name: e.name,
            version: e.version,
            arch: e.arch,
            multiArch: e.multiArch ?? 'no',
            source: e.source ?? e.name,
            dependsField: e.depends?.join(', '),
            size: e.size,
            sha256: e.sha256,
            filename: `pool/main/${e.name}_${e.version}_${e.arch}.deb`,
          });
          expect(r.provides.map((p) => p.name)).toEqual(e.provides ?? []);
        });
      }),
      { numRuns: 200 },
    );
  });

  it('gives an index or a PermanentError for arbitrary and mangled bytes', () => {
    const mangled = fc
      .tuple(fc.array(entry, { minLength: 1, maxLength: 3 }), fc.nat(), fc.string({ maxLength: 4 }))
      .map(([entries, at, junk]) => {
        const text = entries.map(paragraph).join('\n\n');
        const i = at % text.length;
        return Buffer.from(text.slice(0, i) + junk + text.slice(i + 1));
      });
    fc.assert(
      fc.property(
        fc.oneof(
          mangled,
          fc.uint8Array({ maxLength: 500 }).map((a) => Buffer.from(a)),
        ),
        (bytes) => {
          outcome(bytes);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('refuses a Size that is not the decimal digits of a byte count', () => {
    for (const size of ['', '-5', '0x10', '1e3', '1.5']) {
      const text = Buffer.from(
        `Package: a\nVersion: 1\nArchitecture: all\nFilename: pool/a.deb\nSize: ${size}\nSHA256: ${'a'.repeat(64)}\n`,
      );
      expect(() => buildCompactIndex(text, sha, 'fuzz'), `Size: ${size}`).toThrow(
        /fuzz: a 1: entry lacks Filename, Size or SHA256/,
      );
    }
  });
});
