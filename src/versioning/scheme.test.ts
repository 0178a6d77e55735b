import { describe, expect, it } from 'vitest';
import { compare, schemeOf, valid } from './scheme.ts';
import { unsafeVersionReason } from './safe-version.ts';

describe('schemes', () => {
  it.each([
    ['semver', '1.2.3', '1.2.10', -1],
    ['semver', '1.2.3-rc.1', '1.2.3', -1],
    ['loose', 'v1.2', '1.2.0', 0],
    ['loose', '1.2.3.4', '1.2.3.10', -1],
    ['loose', '1.2.3.4', '1.2.3', 1],
    ['loose', '2024.10.1', '2024.9.30', 1],
    ['loose', '3.13.0rc2', '3.13.0', -1],
    ['loose', '3.13.0rc2', '3.13.0b4', 1],
    ['loose', '3.13.0a1', '3.13.0.dev1', 1],
    ['debian', '1:1.0', '2.0', 1],
    ['debian', '1.0~rc1', '1.0', -1],
  ] as const)('%s: %s vs %s → %i', (scheme, a, b, expected) => {
    const s = schemeOf(scheme);
    const na = s.normalize(a);
    const nb = s.normalize(b);
    expect(na).toBeDefined();
    expect(nb).toBeDefined();
    expect(Math.sign(compare(scheme, na ?? '', nb ?? ''))).toBe(expected);
  });

  it('normalises', () => {
    expect(schemeOf('semver').normalize('v1.2.3')).toBe('1.2.3');
    expect(schemeOf('loose').normalize('V2024.10.1')).toBe('2024.10.1');
    expect(schemeOf('loose').normalize('1.2-beta3')).toBe('1.2-beta3');
    expect(valid('semver', '1.2')).toBe(false);
    expect(valid('loose', '1.2-foo')).toBe(false);
    expect(valid('loose', 'latest')).toBe(false);
  });

  it('knows prereleases and components', () => {
    expect(schemeOf('semver').isPrerelease('1.0.0-rc.1')).toBe(true);
    expect(schemeOf('loose').isPrerelease('3.13.0rc1')).toBe(true);
    expect(schemeOf('debian').isPrerelease('1.0~beta1-1')).toBe(true);
    expect(schemeOf('debian').isPrerelease('1.0-1')).toBe(false);
    expect(schemeOf('loose').components('1.2.3.4')).toEqual([1, 2, 3, 4]);
    expect(schemeOf('debian').components('2:3.11.2-6+deb12u1')).toEqual([3, 11, 2]);
    expect(schemeOf('loose').rangeProxy('1.2')).toBe('1.2.0');
    expect(schemeOf('loose').rangeProxy('1.2rc1')).toBe('1.2.0-0');
  });
});

describe('hostile versions', () => {
  it.each([
    ['1.2.3;rm -rf /', 'whitespace'],
    ['1.2.3$(id)', 'characters'],
    ['../../etc', '`/`'],
    ['1..2', '`..`'],
    ['1.2 3', 'whitespace'],
    ['1'.repeat(129), 'longer'],
    ['`id`', 'characters'],
    ['-1.0', 'characters'],
    ['', 'empty'],
  ])('refuses %j', (v, why) => {
    expect(unsafeVersionReason(v)).toContain(why);
  });

  it.each(['1.2.3', 'v1.2.3-rc.1', '2:1.0~rc1-1+deb12u1', '2024.10.1'])('accepts %j', (v) => {
    expect(unsafeVersionReason(v)).toBeUndefined();
  });
});
