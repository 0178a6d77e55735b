import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compareDebianVersions } from '../debian/version.ts';
import { parseDebianVersion, verrevcmp } from './debian-compare.ts';

const run = promisify(execFile);

/** Versions dpkg accepts, built from the characters that decide its ordering. */
const upstream = fc
  .tuple(
    fc.integer({ min: 0, max: 99 }),
    fc.array(fc.constantFrom('0', '1', '9', '10', '.', '~', '+', 'a', 'b', 'Z', '~rc', '.0'), {
      maxLength: 5,
    }),
  )
  .map(([n, rest]) => `${n}${rest.join('')}`);
const revision = fc
  .array(fc.constantFrom('0', '1', '2', '.', '~', '+', 'a', 'deb12u', 'b'), {
    minLength: 1,
    maxLength: 4,
  })
  .map((parts) => parts.join(''));
const version = fc
  .tuple(
    fc.option(fc.integer({ min: 0, max: 3 }), { nil: undefined }),
    upstream,
    fc.option(revision, { nil: undefined }),
  )
  .map(([e, u, r]) => `${e === undefined ? '' : `${e}:`}${u}${r === undefined ? '' : `-${r}`}`)
  .filter((v) => parseDebianVersion(v) !== undefined);

const sign = (n: number) => Math.sign(n);

describe('dpkg version ordering, by property', () => {
  it('is reflexive and antisymmetric', () => {
    fc.assert(
      fc.property(version, version, (a, b) => {
        expect(compareDebianVersions(a, a)).toBe(0);
        expect(sign(compareDebianVersions(a, b)) + sign(compareDebianVersions(b, a))).toBe(0);
      }),
      { numRuns: 2000 },
    );
  });

  it('is transitive', () => {
    fc.assert(
      fc.property(version, version, version, (a, b, c) => {
        const [x, y, z] = [a, b, c].sort(compareDebianVersions);
        if (x === undefined || y === undefined || z === undefined) return;
        expect(compareDebianVersions(x, y)).toBeLessThanOrEqual(0);
        expect(compareDebianVersions(y, z)).toBeLessThanOrEqual(0);
        expect(compareDebianVersions(x, z)).toBeLessThanOrEqual(0);
      }),
      { numRuns: 2000 },
    );
  });

  it('verrevcmp is total on arbitrary strings: never throws, antisymmetric', () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), (a, b) => {
        expect(sign(verrevcmp(a, b)) + sign(verrevcmp(b, a))).toBe(0);
      }),
      { numRuns: 2000 },
    );
  });

  it('agrees with dpkg --compare-versions on random pairs (one shell, a bounded number of dpkg calls)', async () => {
    const pairs = fc.sample(fc.tuple(version, version), { numRuns: 100, seed: 14 });
    // Near-equal pairs are where orderings disagree: add each version against a small edit of it.
    for (const [a] of pairs.slice(0, 30)) pairs.push([a, `${a}~`], [a, `${a}.0`], [a, `${a}+b1`]);
    const valid = pairs.filter(([, b]) => parseDebianVersion(b) !== undefined);
    const dir = await mkdtemp(path.join(os.tmpdir(), 'kiln-dpkg-'));
    try {
      const list = path.join(dir, 'pairs');
      await writeFile(list, valid.map(([a, b]) => `${a} ${b}\n`).join(''));
      const script =
        'while read a b; do if dpkg --compare-versions "$a" lt "$b"; then echo -1; ' +
        'elif dpkg --compare-versions "$a" eq "$b"; then echo 0; else echo 1; fi; done < "$1"';
      const { stdout } = await run('sh', ['-c', script, 'sh', list], { maxBuffer: 1 << 20 });
      const dpkg = stdout.trim().split('\n').map(Number);
      expect(dpkg).toHaveLength(valid.length);
      const disagreements = valid
        .map(([a, b], i) => ({ a, b, dpkg: dpkg[i], kiln: sign(compareDebianVersions(a, b)) }))
        .filter((r) => r.dpkg !== r.kiln);
      expect(disagreements).toEqual([]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
