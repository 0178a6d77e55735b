import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { parseDpkgStatus, sourceOf } from '../../src/vuln/installed.ts';
import { installedSources, matchFeed, summarise } from '../../src/vuln/match.ts';
import { readTrackerFeed } from '../../src/vuln/tracker-feed.ts';
import { dpkgStatus, trackerFeed } from './fixtures.ts';

const feedOf = (value: unknown) => readTrackerFeed(Readable.from([JSON.stringify(value)]));

describe('binary → source package', () => {
  it('reads Source: with and without a version, and a binary named like its source', () => {
    expect(sourceOf('libssl3t64', '3.5.4-1~deb13u1', 'openssl')).toEqual({
      source: 'openssl',
      sourceVersion: '3.5.4-1~deb13u1',
    });
    expect(
      sourceOf('zlib1g', '1:1.3.dfsg+really1.3.1-1+b1', 'zlib (1:1.3.dfsg+really1.3.1-1)'),
    ).toEqual({
      source: 'zlib',
      sourceVersion: '1:1.3.dfsg+really1.3.1-1',
    });
    // A binNMU without a versioned Source: the source version is the binary's less `+bN`.
    expect(sourceOf('libc6', '2.41-12+b1', 'glibc')).toEqual({
      source: 'glibc',
      sourceVersion: '2.41-12',
    });
    expect(sourceOf('base-files', '13.8', undefined)).toEqual({
      source: 'base-files',
      sourceVersion: '13.8',
    });
  });

  it('keeps only installed packages of a dpkg status file and groups them by source', () => {
    const packages = parseDpkgStatus(dpkgStatus);
    expect(packages.map((p) => p.name)).toEqual(['libssl3t64', 'libc6', 'zlib1g', 'base-files']);
    expect(installedSources(packages)).toEqual([
      { source: 'base-files', sourceVersion: '13.8', packages: ['base-files'] },
      { source: 'glibc', sourceVersion: '2.41-12', packages: ['libc6'] },
      { source: 'openssl', sourceVersion: '3.5.4-1~deb13u1', packages: ['libssl3t64'] },
      { source: 'zlib', sourceVersion: '1:1.3.dfsg+really1.3.1-1', packages: ['zlib1g'] },
    ]);
  });
});

describe('matching by dpkg ordering', () => {
  it('finds fixable and unfixed CVEs; "0", older fixes and the epoch rule the rest out', async () => {
    const feed = await feedOf(trackerFeed());
    const findings = matchFeed(parseDpkgStatus(dpkgStatus), feed, 'trixie');
    expect(
      findings.map((f) => [f.cve, f.source, f.state, f.urgency, f.fixedVersion, f.suite]),
    ).toEqual([
      // ~deb13u1 < ~deb13u2: fixable, and trixie-security holds the fix.
      ['CVE-2026-1000', 'openssl', 'fixable', 'high', '3.5.4-1~deb13u2', 'trixie-security'],
      // Fixed in Debian's records, but no suite of trixie holds 2.41-12+deb13u1 yet.
      ['CVE-2026-2001', 'glibc', 'unfixed', 'medium', '2.41-12+deb13u1', undefined],
      ['CVE-2026-2000', 'glibc', 'unfixed', 'low', undefined, undefined],
    ]);
    expect(findings.find((f) => f.cve === 'CVE-2026-2000')?.noDsa).toBe('Minor issue (postponed)');
    // zlib's epoch 1 beats the fixed 1.3.2-1; openssl's CVE-2026-1001 ("0") and -1002 (3.5.1-1).
    expect(findings.map((f) => f.cve)).not.toContain('CVE-2026-3000');
    expect(summarise(findings)).toEqual({
      total: 3,
      fixable: 1,
      byUrgency: { high: 1, medium: 1, low: 1 },
    });
  });

  it('orders `~` before the end: 3.5.4-1 is past 3.5.4-1~deb13u2, 3.5.4-1~rc1 is not', async () => {
    const feed = await feedOf(trackerFeed());
    const at = (version: string) =>
      matchFeed(
        [{ name: 'libssl3t64', version, arch: 'amd64', source: 'openssl', sourceVersion: version }],
        feed,
        'trixie',
      ).map((f) => f.cve);
    expect(at('3.5.4-1')).toEqual([]);
    expect(at('3.5.4-1~deb13u2')).toEqual([]);
    expect(at('3.5.4-1~deb13u1')).toEqual(['CVE-2026-1000']);
    expect(at('3.5.4~rc1-1')).toEqual(['CVE-2026-1000']);
    expect(at('3.5.0-1')).toEqual(['CVE-2026-1000', 'CVE-2026-1002']);
    // Without the epoch zlib's version is below the fix.
    const zlib = matchFeed(
      [
        {
          name: 'zlib1g',
          version: '1.3.1-1',
          arch: 'amd64',
          source: 'zlib',
          sourceVersion: '1.3.1-1',
        },
      ],
      feed,
      'trixie',
    );
    expect(zlib.map((f) => f.cve)).toEqual(['CVE-2026-3000']);
  });

  it('judges by the image release: bookworm has its own fixed version, and no repository holds it', async () => {
    const feed = await feedOf(trackerFeed());
    const findings = matchFeed(
      [
        {
          name: 'libssl3',
          version: '3.0.17-1~deb12u2',
          arch: 'amd64',
          source: 'openssl',
          sourceVersion: '3.0.17-1~deb12u2',
        },
      ],
      feed,
      'bookworm',
    );
    expect(findings.map((f) => [f.cve, f.state, f.fixedVersion])).toEqual([
      ['CVE-2026-1000', 'unfixed', '3.0.17-1~deb12u3'],
    ]);
  });
});
