import { describe, expect, it } from 'vitest';
import { suiteGroups, versionMatches } from './resolve.ts';

describe('one release per image, chosen by version (streams across releases)', () => {
  it('groups suites by release codename, in recipe order', () => {
    expect(
      suiteGroups(['trixie', 'trixie-updates', 'trixie-security', 'bookworm', 'bookworm-security']),
    ).toEqual([
      ['trixie', 'trixie-updates', 'trixie-security'],
      ['bookworm', 'bookworm-security'],
    ]);
  });

  it.each([
    ['3.11.2-1+b1', '3.11', true],
    ['3.11.2-1+b1', '3.11.2', true],
    ['3.11.2-1+b1', '3.11.2-1+b1', true],
    ['3.13.5-1', '3.11', false],
    ['3.110.0-1', '3.11', false],
    ['1:2.36-9', '2.36', true],
  ])('%s matches %s: %s', (debian, wanted, expected) => {
    expect(versionMatches(debian, wanted)).toBe(expected);
  });
});
