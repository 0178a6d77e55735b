import { describe, expect, it } from 'vitest';
import { parseControl } from './control.ts';
import { parseDependencies } from './relations.ts';
import { compareDebianVersions, satisfiesConstraint } from './version.ts';

describe('deb822 control data', () => {
  it('parses paragraphs, case-insensitive names and continuation lines', () => {
    const [a, b] = parseControl(
      'Package: a\nDescription: short\n long\n .\n more\n\n\nPackage: b\nSHA256:\n abc 1 x\n def 2 y\n',
    );
    expect(a?.get('package')).toBe('a');
    expect(a?.get('description')).toBe('short\nlong\n\nmore');
    expect(b?.get('sha256')).toBe('\nabc 1 x\ndef 2 y');
  });
});

describe('relations', () => {
  it('parses alternatives, constraints, arch qualifiers and strips restrictions', () => {
    expect(
      parseDependencies(
        'libc6 (>= 2.36), a | b:any (<< 2~), c [amd64] <!nocheck>, python3:native',
        't',
      ),
    ).toEqual([
      [{ name: 'libc6', archQualifier: undefined, constraint: { op: '>=', version: '2.36' } }],
      [
        { name: 'a', archQualifier: undefined, constraint: undefined },
        { name: 'b', archQualifier: 'any', constraint: { op: '<<', version: '2~' } },
      ],
      [{ name: 'c', archQualifier: undefined, constraint: undefined }],
      [{ name: 'python3', archQualifier: 'native', constraint: undefined }],
    ]);
  });

  it('refuses a malformed relation', () => {
    expect(() => parseDependencies('libc6 (>= )', 'pkg x')).toThrow(/pkg x: cannot parse relation/);
  });
});

describe('dpkg ordering for constraints (shared with src/versioning)', () => {
  it.each([
    ['1.0~rc1', '1.0', -1],
    ['1:1.0', '2.0', 1],
    ['3.0.22-1~deb12u2', '3.0.22-1', -1],
    ['2.36-9+deb12u4', '2.36-9', 1],
    ['1.0', '1.0-0', 0],
  ])('%s vs %s', (a, b, sign) => {
    expect(Math.sign(compareDebianVersions(a, b))).toBe(sign);
  });

  it('evaluates every operator', () => {
    expect(satisfiesConstraint('2.0', '>>', '1.9')).toBe(true);
    expect(satisfiesConstraint('2.0', '<<', '2.0')).toBe(false);
    expect(satisfiesConstraint('2.0', '<=', '2.0')).toBe(true);
    expect(satisfiesConstraint('2.0', '=', '2.0-0')).toBe(true);
    expect(satisfiesConstraint('1:0.1', '>=', '9.9')).toBe(true);
  });
});
