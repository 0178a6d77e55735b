import { describe, expect, it } from 'vitest';
import type { UpstreamRelease } from './release.ts';
import { selectVersions, type SelectOptions } from './select.ts';

const now = new Date('2025-06-01T00:00:00Z');
const rel = (
  tag: string,
  publishedAt = '2025-01-01T00:00:00Z',
  prerelease = false,
): UpstreamRelease => ({
  tag,
  version: tag.replace(/^v/, ''),
  publishedAt,
  prerelease,
  url: undefined,
});
const picked = (releases: UpstreamRelease[], options: SelectOptions): (string | undefined)[] =>
  selectVersions(releases, options, now).streams.map((s) => s.selected?.version);

describe('selectVersions', () => {
  const semver = { versions: { scheme: 'semver', prereleases: false } } satisfies SelectOptions;

  it('picks the highest version whatever the order', () => {
    const releases = [rel('v1.2.0'), rel('v1.10.0'), rel('v1.9.9')];
    expect(picked(releases, semver)).toEqual(['1.10.0']);
    expect(picked([...releases].reverse(), semver)).toEqual(['1.10.0']);
  });

  it('never picks a prerelease unless enabled; the upstream flag counts', () => {
    const releases = [rel('v1.0.0'), rel('v2.0.0-rc.1'), rel('v1.1.0', undefined, true)];
    expect(picked(releases, semver)).toEqual(['1.0.0']);
    expect(picked(releases, { versions: { scheme: 'semver', prereleases: true } })).toEqual([
      '2.0.0-rc.1',
    ]);
  });

  it('one stream per line, each its highest', () => {
    const releases = ['3.12.6', '3.12.7', '3.13.0', '3.13.1', '3.14.0b1'].map((v) => rel(v));
    const options: SelectOptions = {
      versions: {
        scheme: 'semver',
        prereleases: false,
        streams: ['3.12', { name: '3.13', range: '~3.13.0' }],
      },
    };
    expect(picked(releases, options)).toEqual(['3.12.7', '3.13.1']);
  });

  it('holds a release inside the cooldown and falls back to the previous one', () => {
    const releases = [rel('1.0.0', '2025-05-01T00:00:00Z'), rel('1.1.0', '2025-05-31T20:00:00Z')];
    const s = selectVersions(
      releases,
      { versions: { scheme: 'semver', prereleases: false, cooldown: '6h' } },
      now,
    );
    expect(s.streams[0]?.selected?.version).toBe('1.0.0');
    expect(s.streams[0]?.cooling.map((c) => c.version)).toEqual(['1.1.0']);
    expect(s.streams[0]?.cooling[0]?.eligibleAt).toBe('2025-06-01T02:00:00.000Z');
  });

  it('treats `v1.2.3` and `1.2.3` as one version, the newest publication winning (retag)', () => {
    const s = selectVersions(
      [
        rel('v1.2.3', '2025-01-01T00:00:00Z'),
        { ...rel('1.2.3', '2025-02-01T00:00:00Z'), tag: '1.2.3' },
      ],
      semver,
      now,
    );
    expect(s.candidates).toHaveLength(1);
    expect(s.candidates[0]?.tag).toBe('1.2.3');
  });

  it('applies extraction: filters, strips, extract-version, transforms', () => {
    const releases = ['release-1_2_3', 'release-1_3_0-beta', 'nightly-2025', 'release-1_1_0'].map(
      (t) => rel(t),
    );
    const options: SelectOptions = {
      versions: { scheme: 'semver', prereleases: false },
      upstream: {
        'tag-filter-prefix': 'release-',
        'ignore-regex-patterns': ['beta$'],
        'strip-prefix': 'release-',
        'version-transform': [{ match: '_', replace: '.' }],
      },
    };
    const s = selectVersions(releases, options, now);
    expect(s.candidates.map((c) => c.version)).toEqual(['1.2.3', '1.1.0']);
    expect(s.rejected.map((r) => r.tag).sort()).toEqual(['nightly-2025', 'release-1_3_0-beta']);

    const named = selectVersions(
      [rel('curl-8_11_1'), rel('curl-8_9_0')],
      {
        versions: { scheme: 'semver', prereleases: false },
        upstream: {
          'extract-version': '^curl-(?<version>\\d+_\\d+_\\d+)$',
          'version-transform': [{ match: '_', replace: '.' }],
        },
      },
      now,
    );
    expect(named.streams[0]?.selected?.version).toBe('8.11.1');
  });

  it('refuses hostile tags and hostile results', () => {
    const s = selectVersions(
      [rel('1.0.0;id'), rel('../1.0.0'), rel('1.0.1'), rel('1.0.2 x')],
      { versions: { scheme: 'loose', prereleases: false }, upstream: { 'strip-suffix': 'x' } },
      now,
    );
    expect(s.candidates.map((c) => c.version)).toEqual(['1.0.1']);
    expect(s.rejected).toHaveLength(3);
    const sneaky = selectVersions(
      [rel('tools/v1.0.0'), rel('tools/v1.0.1$(id)')],
      {
        versions: { scheme: 'semver', prereleases: false },
        upstream: { 'strip-prefix': 'tools/v' },
      },
      now,
    );
    expect(sneaky.candidates.map((c) => c.version)).toEqual(['1.0.0']);
    const hostileResult = selectVersions(
      [rel('a-1.0.0')],
      {
        versions: { scheme: 'loose', prereleases: false },
        upstream: { 'version-transform': [{ match: '^a-', replace: '../' }] },
      },
      now,
    );
    expect(hostileResult.rejected[0]?.reason).toBe('version "../1.0.0" contains `/`');
  });

  it('handles four-part and calendar versions with the loose scheme', () => {
    const releases = ['1.2.3.4', '1.2.3.10', '2024.10.1'].map((v) => rel(v));
    const options: SelectOptions = {
      versions: { scheme: 'loose', prereleases: false, streams: ['1.x', '>=2000'] },
    };
    expect(picked(releases, options)).toEqual(['1.2.3.10', '2024.10.1']);
  });

  it('orders Debian versions with epochs', () => {
    const releases = ['1.0-1', '1:0.9-1', '1:0.9-1+deb12u1'].map((v) => ({
      ...rel(v),
      version: v,
    }));
    expect(picked(releases, { versions: { scheme: 'debian', prereleases: false } })).toEqual([
      '1:0.9-1+deb12u1',
    ]);
  });

  it('reports a stream with nothing to build', () => {
    const s = selectVersions(
      [rel('1.0.0')],
      { versions: { scheme: 'semver', prereleases: false, streams: ['2.x'] } },
      now,
    );
    expect(s.streams[0]?.selected).toBeUndefined();
  });
});
