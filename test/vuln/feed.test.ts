import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { PermanentError } from '../../src/errors.ts';
import { loadFeed } from '../../src/vuln/feed.ts';
import { readOsvArray } from '../../src/vuln/osv-feed.ts';
import { readTrackerFeed } from '../../src/vuln/tracker-feed.ts';
import { tempDir, trackerFeed } from './fixtures.ts';

/** Streams text in small pieces, as a socket or file read would, splitting tokens anywhere. */
const chunked = (text: string, size = 7): Readable =>
  Readable.from(
    (function* () {
      for (let i = 0; i < text.length; i += size) yield Buffer.from(text.slice(i, i + size));
    })(),
  );

describe('the Security Tracker feed', () => {
  it('reads the real shape as a stream and keeps only the source packages asked for', async () => {
    const feed = await readTrackerFeed(chunked(JSON.stringify(trackerFeed(), null, 2)), {
      wanted: new Set(['openssl', 'zlib']),
    });
    expect([...feed.sources.keys()]).toEqual(['openssl', 'zlib']);
    expect(feed.sourcesSeen).toBe(4);
    const cve = feed.sources.get('openssl')?.get('CVE-2026-1000');
    expect(cve?.description).toBe('Certificate handling flaw');
    expect(Object.fromEntries(cve?.releases ?? [])).toEqual({
      trixie: {
        status: 'resolved',
        fixedVersion: '3.5.4-1~deb13u2',
        urgency: 'high',
        noDsa: undefined,
        repositories: { trixie: '3.5.4-1~deb13u1', 'trixie-security': '3.5.4-1~deb13u2' },
      },
      bookworm: expect.objectContaining({ fixedVersion: '3.0.17-1~deb12u3' }),
      sid: expect.objectContaining({ fixedVersion: '3.5.5-1' }),
    });
    expect(feed.refused).toBe(0);
  });

  it('refuses hostile entries one by one, with the reason, and keeps the rest', async () => {
    const hostile: Record<string, unknown> = trackerFeed();
    const openssl = hostile.openssl as Record<string, unknown>;
    openssl['CVE-2026-9001'] = {
      description: 'x'.repeat(200_000),
      releases: { trixie: { status: 'open', urgency: 'high' } },
    };
    openssl['CVE-2026-9002'] = {
      releases: {
        trixie: { status: 'resolved', fixed_version: '3.5.4-1 ; rm -rf /', urgency: 'high' },
        bookworm: { status: 'resolved', fixed_version: '3.0.18-1', urgency: 'low' },
      },
    };
    openssl['CVE-2026-9003'] = {
      releases: {
        'trixie-lts-2099': { status: 'open', urgency: 'high' },
        trixie: { status: 'open', urgency: 'low' },
      },
    };
    openssl['not-a-cve'] = { releases: {} };
    openssl['CVE-2026-9004'] = { releases: { trixie: { status: 'wontfix', urgency: 'high' } } };
    openssl['CVE-2026-9005'] = { releases: { trixie: { status: 'open', urgency: 'apocalyptic' } } };
    openssl['CVE-2026-9006'] = { releases: { trixie: { a: { b: { c: { d: {} } } } } } };
    openssl['CVE-2026-9007'] = { releases: { PROTO: { status: 'open', urgency: 'high' } } };
    hostile.PROTO = { 'CVE-2026-9008': { releases: {} } };
    hostile['a'.repeat(5000)] = {};
    hostile.zlib = 'not an object';

    // `__proto__` as a key of the document, never as a prototype.
    const text = JSON.stringify(hostile).replaceAll('"PROTO":', '"__proto__":');
    const feed = await readTrackerFeed(chunked(text, 4096));
    const reasons = Object.fromEntries(feed.refusals.map((r) => [r.where, r.reason]));
    expect(reasons).toEqual({
      'openssl CVE-2026-9001':
        'entry refused: a string value longer than 65536 characters at description',
      'openssl CVE-2026-9002 trixie': 'fixed_version "3.5.4-1 ; rm -rf /" is not a Debian version',
      'openssl CVE-2026-9003 trixie-lts-2099': 'unknown release "trixie-lts-2099"',
      'openssl not-a-cve': 'not a CVE id (CVE-YYYY-N… or TEMP-…)',
      'openssl CVE-2026-9004 trixie': expect.stringMatching(/^status: /),
      'openssl CVE-2026-9005 trixie': 'unknown urgency "apocalyptic"',
      'openssl CVE-2026-9006': 'entry refused: nested deeper than 4 levels at releases.trixie.a.b',
      'openssl CVE-2026-9007 __proto__': 'unknown release "__proto__"',
      ['__proto__']: 'not a Debian source package name',
      [`${'a'.repeat(40)}…`]: 'not a Debian source package name (too long)',
      zlib: 'its value is not an object of CVE entries',
    });
    expect(feed.refused).toBe(11);
    // What was fine in the same entries is kept.
    const openssls = feed.sources.get('openssl');
    expect(openssls?.get('CVE-2026-9002')?.releases.get('bookworm')?.fixedVersion).toBe('3.0.18-1');
    expect(openssls?.get('CVE-2026-9003')?.releases.get('trixie')?.urgency).toBe('low');
    expect(openssls?.has('CVE-2026-9001')).toBe(false);
    expect(openssls?.get('CVE-2026-1000')).toBeDefined();
    expect(feed.sources.get('glibc')?.size).toBe(2);
    expect(Object.prototype).not.toHaveProperty('CVE-2026-9008');
    expect(Object.prototype).not.toHaveProperty('status');
  });

  it('refuses a document that is not the tracker’s JSON as a permanent error', async () => {
    await expect(readTrackerFeed(chunked('[1, 2]'))).rejects.toThrow(
      /not in the Security Tracker's shape/,
    );
    await expect(readTrackerFeed(chunked('{"openssl": {"CVE-2026-1": {'))).rejects.toBeInstanceOf(
      PermanentError,
    );
    await expect(readTrackerFeed(chunked('{"openssl": nope}'))).rejects.toThrow(/not valid JSON/);
  });
});

describe('OSV records', () => {
  const record = {
    schema_version: '1.6.0',
    id: 'DEBIAN-CVE-2026-1000',
    upstream: ['CVE-2026-1000'],
    summary: 'Certificate handling flaw',
    affected: [
      {
        package: {
          ecosystem: 'Debian:13',
          name: 'openssl',
          purl: 'pkg:deb/debian/openssl?arch=source',
        },
        ranges: [
          { type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed: '3.5.4-1~deb13u2' }] },
        ],
        ecosystem_specific: { urgency: 'high' },
      },
      {
        package: { ecosystem: 'Debian:12', name: 'openssl' },
        ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }] }],
        versions: ['3.0.17-1~deb12u2'],
        ecosystem_specific: { urgency: 'medium' },
      },
      { package: { ecosystem: 'Debian:99', name: 'openssl' }, ranges: [] },
      { package: { ecosystem: 'Ubuntu:24.04', name: 'openssl' }, ranges: [] },
    ],
  };

  it('gives the same model as the tracker: fixed events are resolved releases, none is open', async () => {
    const feed = await readOsvArray(chunked(JSON.stringify([record, { id: 'junk' }])));
    const cve = feed.sources.get('openssl')?.get('CVE-2026-1000');
    expect(cve?.releases.get('trixie')).toMatchObject({
      status: 'resolved',
      fixedVersion: '3.5.4-1~deb13u2',
      urgency: 'high',
    });
    expect(cve?.releases.get('bookworm')).toMatchObject({
      status: 'open',
      fixedVersion: undefined,
      urgency: 'medium',
    });
    expect(feed.refusals.map((r) => r.reason)).toEqual([
      'unknown release "Debian:99"',
      expect.stringMatching(/^not an OSV record: affected/),
    ]);
  });

  it('reads the affected binaries Ubuntu-shaped records list, and refuses hostile lists per entry', async () => {
    const withBinaries = (id: string, binaries: unknown[]) => ({
      id,
      affected: [
        {
          package: { ecosystem: 'Debian:13', name: 'openssl' },
          ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }] }],
          ecosystem_specific: { urgency: 'low', binaries },
        },
      ],
    });
    const feed = await readOsvArray(
      chunked(
        JSON.stringify([
          withBinaries('DEBIAN-CVE-2026-2000', [
            { binary_name: 'openssl', binary_version: '3.5.4-1~deb13u2' },
            { binary_name: 'openssl', binary_version: '3.5.4-1~deb13u2' },
          ]),
          withBinaries('DEBIAN-CVE-2026-2001', [{ binary_name: '../../etc/passwd' }]),
          withBinaries(
            'DEBIAN-CVE-2026-2002',
            Array.from({ length: 2001 }, (_, i) => ({ binary_name: `lib${i}` })),
          ),
        ]),
      ),
    );
    const cves = feed.sources.get('openssl');
    expect(cves?.get('CVE-2026-2000')?.releases.get('trixie')?.binaries).toEqual(['openssl']);
    expect(cves?.has('CVE-2026-2001')).toBe(false);
    expect(cves?.has('CVE-2026-2002')).toBe(false);
    expect(feed.refusals).toEqual([
      {
        where: 'OSV records[1] DEBIAN-CVE-2026-2001 openssl trixie',
        reason: 'binary "../../etc/passwd" is not a Debian package name',
      },
      {
        where: 'OSV records[2] DEBIAN-CVE-2026-2002 openssl trixie',
        reason: 'more than 2000 binaries',
      },
    ]);
  });

  it('reads a folder of records through KILN_VULN_FEED, and an array file, and the tracker file', async () => {
    const dir = await tempDir('osv');
    await mkdir(path.join(dir, 'records'));
    await writeFile(path.join(dir, 'records', 'DEBIAN-CVE-2026-1000.json'), JSON.stringify(record));
    await writeFile(path.join(dir, 'records', 'broken.json'), '{');
    await writeFile(path.join(dir, 'array.json'), `\n ${JSON.stringify([record])}`);
    await writeFile(path.join(dir, 'tracker.json'), JSON.stringify(trackerFeed()));
    const wanted = new Set(['openssl']);
    const folder = await loadFeed({ kind: 'path', path: path.join(dir, 'records') }, dir, wanted);
    expect(folder.origin.format).toBe('osv');
    expect(folder.feed.sources.get('openssl')?.has('CVE-2026-1000')).toBe(true);
    expect(folder.feed.refusals.map((r) => r.where)).toContain('broken.json');
    const array = await loadFeed({ kind: 'path', path: path.join(dir, 'array.json') }, dir, wanted);
    expect(array.origin.format).toBe('osv');
    expect(array.feed.sources.get('openssl')?.get('CVE-2026-1000')?.releases.size).toBe(2);
    const tracker = await loadFeed(
      { kind: 'path', path: path.join(dir, 'tracker.json') },
      dir,
      wanted,
    );
    expect(tracker.origin.format).toBe('debian-security-tracker');
    expect(tracker.feed.sources.get('openssl')?.size).toBe(3);
  });
});

describe('KILN_VULN_FEED', () => {
  it('takes a path or an http(s) URL, and names the variable when it is neither', async () => {
    const { loadConfig, ConfigError } = await import('../../src/config.ts');
    expect(loadConfig({ KILN_VULN_FEED: 'feeds/tracker.json' }).vulnFeed).toEqual({
      kind: 'path',
      path: path.resolve('feeds/tracker.json'),
    });
    expect(
      loadConfig({ KILN_VULN_FEED: 'http://127.0.0.1:8000/tracker/data/json' }).vulnFeed,
    ).toEqual({
      kind: 'url',
      url: 'http://127.0.0.1:8000/tracker/data/json',
    });
    expect(loadConfig({}).vulnFeed).toBeUndefined();
    const error = (() => {
      try {
        loadConfig({ KILN_VULN_FEED: 'ftp://127.0.0.1/json' });
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(ConfigError);
    expect(String(error)).toMatch(/KILN_VULN_FEED: expected an http\(s\) URL or a file path/);
  });
});
