import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { compareDebian, parseDebianVersion, verrevcmp } from './debian-compare.ts';

const cmp = (a: string, b: string): number => {
  const pa = parseDebianVersion(a);
  const pb = parseDebianVersion(b);
  if (!pa || !pb) throw new Error(`bad test version ${a} / ${b}`);
  return Math.sign(compareDebian(pa, pb));
};

// [a, b, expected sign of compare(a, b)]
const table: [string, string, number][] = [
  ['1.0', '1.0', 0],
  ['1.0', '1.0-0', 0],
  ['1.0~rc1', '1.0', -1],
  ['1.0~~', '1.0~', -1],
  ['1.0~', '1.0', -1],
  ['1.0', '1.0+b1', -1],
  ['1.0-1', '1.0-1+deb12u1', -1],
  ['1:0.1', '9.9', 1],
  ['2:1.0', '1:9.9', 1],
  ['1.10', '1.9', 1],
  ['1.0a', '1.0', 1],
  ['1.0a', '1.0+', -1],
  ['3.11.2-6+deb12u1', '3.11.2-6', 1],
  ['3.11.2-6+deb12u1', '3.11.2-6+deb12u2', -1],
  ['1.001', '1.1', 0],
  ['7.88.1-10+deb12u8', '7.88.1-10+deb12u12', -1],
];

describe('Debian version ordering', () => {
  it.each(table)('%s vs %s → %i', (a, b, expected) => {
    expect(cmp(a, b)).toBe(expected);
    expect(cmp(b, a)).toBe(expected === 0 ? 0 : -expected);
  });

  it('parses epoch, upstream and revision', () => {
    expect(parseDebianVersion('2:1.2-3-4')).toEqual({ epoch: 2, upstream: '1.2-3', revision: '4' });
    expect(parseDebianVersion('1.2')).toEqual({ epoch: 0, upstream: '1.2', revision: '' });
  });

  it.each(['', 'a1.0', '1.0-', ':1.0', 'x:1.0', '1.0 1', '1.0/2', '1.0-a_b'])('refuses %j', (v) => {
    expect(parseDebianVersion(v)).toBeUndefined();
  });

  const hasDpkg = (() => {
    try {
      execFileSync('dpkg', ['--version'], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  })();

  it.skipIf(!hasDpkg)(
    `agrees with dpkg --compare-versions on the table${hasDpkg ? '' : ' (skipped: dpkg not on PATH)'}`,
    () => {
      for (const [a, b] of table) {
        for (const [op, want] of [
          ['lt', -1],
          ['eq', 0],
          ['gt', 1],
        ] as const) {
          let ok = true;
          try {
            execFileSync('dpkg', ['--compare-versions', a, op, b], { stdio: 'ignore' });
          } catch {
            ok = false;
          }
          expect(ok, `${a} ${op} ${b}`).toBe(cmp(a, b) === want);
        }
      }
    },
  );

  it('verrevcmp treats leading zeros as equal', () => {
    expect(verrevcmp('01', '1')).toBe(0);
  });
});
