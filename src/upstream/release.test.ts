import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PermanentError } from '../errors.ts';
import { refusal, toFetchResult, versionOfTag } from './release.ts';

describe('release safety', () => {
  it('derives the version candidate from the tag', () => {
    expect(versionOfTag('v1.2.3')).toBe('1.2.3');
    expect(versionOfTag('tools/v0.3.0')).toBe('0.3.0');
    expect(versionOfTag('release-2024.01')).toBe('release-2024.01');
    expect(versionOfTag('1:2.36-9+deb12u4')).toBe('1:2.36-9+deb12u4');
  });

  it.each([
    ['v1.0.0;rm -rf /', /shell metacharacters/],
    ['1.0.0$(id)', /shell metacharacters/],
    ['1.0`id`', /shell metacharacters/],
    ['1.0 && x', /shell metacharacters/],
    ['1.0\n2', /shell metacharacters/],
    ['../../1.0', /path traversal/],
    ['latest', /no digit/],
    ['1'.repeat(200), /longer than/],
  ])('refuses %j', (tag, reason) => {
    expect(refusal(tag, versionOfTag(tag))).toMatch(reason);
  });

  it('refuses a version with a path separator even when the tag is fine', () => {
    expect(refusal('v1', '1/2')).toMatch(/path separator/);
    expect(refusal('v1', '1\\2')).toMatch(/path separator/);
  });

  it('accepts semver, PEP 440 and Debian versions', () => {
    for (const v of [
      '1.2.3',
      '1.2.3-rc.1+build.5',
      '2.32.0rc1',
      '1.0.post1',
      '1:2.36-9+deb12u4',
      '3.0~beta1',
    ]) {
      expect(refusal(v, v)).toBeUndefined();
    }
  });

  it('never lets a shell or path character through (property)', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 40 }), (s) => {
        if (refusal(s, s) === undefined) expect(s).toMatch(/^[A-Za-z0-9._+~:-]+$/);
      }),
    );
  });

  it('fails clearly when nothing usable is left, and reports what it dropped otherwise', () => {
    expect(() => toFetchResult('x', [{ tag: 'nightly' }, { tag: 'edge' }])).toThrow(PermanentError);
    const r = toFetchResult('x', [
      { tag: 'v1.0.0', publishedAt: '2024-01-01T00:00:00Z' },
      { tag: 'nightly' },
    ]);
    expect(r.releases).toEqual([
      {
        version: '1.0.0',
        tag: 'v1.0.0',
        publishedAt: '2024-01-01T00:00:00.000Z',
        prerelease: false,
        url: undefined,
      },
    ]);
    expect(r.rejected).toEqual([{ tag: 'nightly', reason: 'version "nightly" has no digit' }]);
    expect(toFetchResult('x', []).releases).toEqual([]);
  });
});
