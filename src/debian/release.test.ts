import { describe, expect, it } from 'vitest';
import { PermanentError } from '../errors.ts';
import { checkSuite, parseRelease } from './release.ts';
import { pickSources } from './sources.ts';

const hash = 'a'.repeat(64);
const release = (extra = '') =>
  `Origin: Debian\nSuite: stable\nCodename: trixie\nDate: Sat, 01 Nov 2025 10:00:00 UTC\n${extra}Acquire-By-Hash: yes\nNo-Support-for-Architecture-all: Packages\nSHA256:\n ${hash} 123 main/binary-amd64/Packages.xz\n ${hash} 0 main/binary-all/Packages\n`;

describe('Release parsing', () => {
  it('reads the SHA256 table and the fields the client uses', () => {
    const r = parseRelease(release(), 'test');
    expect(r.files.get('main/binary-amd64/Packages.xz')).toEqual({ sha256: hash, size: 123 });
    expect(r.acquireByHash).toBe(true);
    // The per-arch indexes list the `all` packages: binary-all is not to be fetched.
    expect(r.allInArchIndexes).toBe(true);
    const older = release().replace('No-Support-for-Architecture-all: Packages\n', '');
    expect(parseRelease(older, 'test').allInArchIndexes).toBe(false);
    expect(() => checkSuite(r, 'trixie', 'test')).not.toThrow();
    expect(() => checkSuite(r, 'stable', 'test')).not.toThrow();
    expect(() => checkSuite(r, 'bookworm', 'test')).toThrow(/not "bookworm"/);
  });

  it('refuses an expired Release (Valid-Until), as apt does against replays', () => {
    const text = release('Valid-Until: Sat, 08 Nov 2025 10:00:00 UTC\n');
    expect(() => parseRelease(text, 'test', new Date('2025-11-09T00:00:00Z'))).toThrow(
      PermanentError,
    );
    expect(() => parseRelease(text, 'test', new Date('2025-11-07T00:00:00Z'))).not.toThrow();
  });

  it('refuses a Release without SHA256 sums or with a malformed line', () => {
    expect(() => parseRelease('Suite: x\nMD5Sum:\n abc 1 f\n', 'test')).toThrow(/no SHA256/);
    expect(() => parseRelease('Suite: x\nSHA256:\n nothex 1 f\n', 'test')).toThrow(
      /malformed SHA256/,
    );
  });
});

describe('suite sources', () => {
  const host = [
    {
      uri: 'http://mirror.invalid/debian',
      suites: ['bookworm', 'bookworm-updates'],
      components: ['main'],
      signedBy: '/keys/archive.gpg',
    },
    {
      uri: 'http://mirror.invalid/debian-security',
      suites: ['bookworm-security'],
      components: ['main'],
      signedBy: '/keys/archive.gpg',
    },
  ];

  it("takes each suite's mirror and keyring from the host, security suites from the security source", () => {
    expect(pickSources(['trixie', 'trixie-security'], {}, host)).toEqual([
      {
        suite: 'trixie',
        mirror: 'http://mirror.invalid/debian',
        mirrors: ['http://mirror.invalid/debian'],
        keyring: '/keys/archive.gpg',
      },
      {
        suite: 'trixie-security',
        mirror: 'http://mirror.invalid/debian-security',
        mirrors: ['http://mirror.invalid/debian-security'],
        keyring: '/keys/archive.gpg',
      },
    ]);
  });

  it('lists every mirror to try: several configured ones in order, or the host sources of one archive', () => {
    const [configured] = pickSources(
      ['trixie'],
      { debianMirror: 'http://a.invalid/, http://b.invalid http://a.invalid' },
      host,
    );
    expect(configured?.mirrors).toEqual(['http://a.invalid', 'http://b.invalid']);
    const withOthers = [
      ...host,
      {
        uri: 'http://other.invalid/debian',
        suites: ['trixie'],
        components: ['main'],
        signedBy: '/keys/archive.gpg',
      },
      {
        uri: 'http://third-party.invalid',
        suites: ['trixie'],
        components: ['main'],
        signedBy: '/keys/vendor.gpg',
      },
    ];
    expect(pickSources(['trixie'], {}, withOthers)[0]?.mirrors).toEqual([
      'http://other.invalid/debian',
    ]);
    expect(pickSources(['trixie-updates'], {}, withOthers)[0]?.mirrors).toEqual([
      'http://mirror.invalid/debian',
      'http://other.invalid/debian',
    ]);
  });

  it('prefers KILN_DEBIAN_MIRROR / _SECURITY_MIRROR / _KEYRING', () => {
    const s = pickSources(
      ['trixie', 'trixie-security'],
      {
        debianMirror: 'http://a.invalid/',
        debianSecurityMirror: 'http://b.invalid',
        debianKeyring: '/k.gpg',
      },
      host,
    );
    expect(s.map((x) => `${x.mirror} ${x.keyring}`)).toEqual([
      'http://a.invalid /k.gpg',
      'http://b.invalid /k.gpg',
    ]);
  });

  it('says which variable to set when nothing serves a suite', () => {
    expect(() => pickSources(['trixie'], {}, [])).toThrow(/KILN_DEBIAN_MIRROR/);
  });
});
