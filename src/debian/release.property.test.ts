import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PermanentError } from '../errors.ts';
import { parseRelease } from './release.ts';

const now = new Date('2026-01-01T00:00:00Z');
const hex64 = fc.stringMatching(/^[a-f0-9]{64}$/);
const fileName = fc.stringMatching(/^[a-z]{1,8}(\/[a-z0-9-]{1,8}){0,3}(\.(gz|xz))?$/);
const files = fc.uniqueArray(
  fc.record({ name: fileName, sha256: hex64, size: fc.integer({ min: 0, max: 2 ** 40 }) }),
  { minLength: 1, maxLength: 8, selector: (f) => f.name },
);

function releaseText(opts: {
  suite: string;
  files: { name: string; sha256: string; size: number }[];
  validUntil?: Date;
}): string {
  return [
    'Origin: Debian',
    `Suite: ${opts.suite}`,
    'Architectures: amd64 arm64',
    'Components: main',
    'Date: Sat, 01 Nov 2025 00:00:00 UTC',
    ...(opts.validUntil ? [`Valid-Until: ${opts.validUntil.toUTCString()}`] : []),
    'SHA256:',
    ...opts.files.map((f) => ` ${f.sha256} ${String(f.size).padStart(9)} ${f.name}`),
    '',
  ].join('\n');
}

function outcome(text: string): 'ok' | 'refused' {
  try {
    parseRelease(text, 'fuzz', now);
    return 'ok';
  } catch (error) {
    expect(error).toBeInstanceOf(PermanentError);
    expect((error as Error).message).toMatch(/^InRelease of fuzz/);
    return 'refused';
  }
}

describe('parseRelease, by property', () => {
  it('reads back every file a Release lists', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[a-z]{2,10}$/), files, (suite, list) => {
        const release = parseRelease(releaseText({ suite, files: list }), 'fuzz', now);
        expect(release.suite).toBe(suite);
        expect(release.architectures).toEqual(['amd64', 'arm64']);
        expect([...release.files.entries()]).toEqual(
          list.map((f) => [f.name, { sha256: f.sha256, size: f.size }]),
        );
      }),
    );
  });

  it('gives a Release or a PermanentError for arbitrary text, and for mangled Release files', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ unit: 'binary' }),
          fc
            .tuple(files, fc.nat(), fc.string({ minLength: 1, maxLength: 3 }))
            .map(([list, at, junk]) => {
              const text = releaseText({ suite: 'trixie', files: list });
              const i = at % text.length;
              return text.slice(0, i) + junk + text.slice(i + 1);
            }),
        ),
        (text) => {
          outcome(text);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('refuses sizes no index can have, instead of reading them as floats', () => {
    const text = releaseText({
      suite: 'trixie',
      files: [{ name: 'main/binary-amd64/Packages', sha256: 'a'.repeat(64), size: 1 }],
    }).replace(/ +1 main/, ` ${'9'.repeat(30)} main`);
    expect(() => parseRelease(text, 'fuzz', now)).toThrow(
      /InRelease of fuzz: malformed SHA256 line/,
    );
  });

  it('refuses an expired Release, whatever the files', () => {
    fc.assert(
      fc.property(files, fc.integer({ min: 1, max: 10 * 365 }), (list, daysAgo) => {
        const validUntil = new Date(now.getTime() - daysAgo * 86_400_000);
        expect(() =>
          parseRelease(releaseText({ suite: 'trixie', files: list, validUntil }), 'fuzz', now),
        ).toThrow(/expired at .* \(Valid-Until\)/);
      }),
      { numRuns: 50 },
    );
  });
});
