import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { entriesBetween, parseChangelog } from '../../src/vuln/changelog.ts';
import { nanoUpdateFixes } from '../../src/vuln/nano-fixes.ts';
import { ociPurl, openVexDocument } from '../../src/vuln/openvex.ts';
import { tempDir } from './fixtures.ts';

/** openssl's changelog as Debian writes it: a security update on top of a stable one. */
const changelog = `openssl (3.5.4-1~deb13u2) trixie-security; urgency=high

  * Non-maintainer upload by the Security Team.
  * Fix CVE-2026-1000: certificate handling flaw.
  * Fix a timing side channel (CVE-2026-1003, CVE-2026-1000).

 -- Security Team <team@security.invalid>  Mon, 30 Nov 2026 10:00:00 +0000

openssl (3.5.4-1~deb13u1) trixie; urgency=medium

  * Rebuild for trixie; addresses CVE-2025-9999.

 -- Maintainer <maint@debian.invalid>  Mon, 02 Nov 2026 10:00:00 +0000

openssl (3.5.4-1) unstable; urgency=medium

  * New upstream release (CVE-2025-8888).

 -- Maintainer <maint@debian.invalid>  Mon, 01 Oct 2026 10:00:00 +0000
`;

/** A real .deb, made with dpkg-deb, with the changelog where Debian puts it. */
async function debWithChangelog(
  dir: string,
  name: string,
  version: string,
  text: string | undefined,
) {
  const root = path.join(dir, name);
  await mkdir(path.join(root, 'DEBIAN'), { recursive: true });
  await writeFile(
    path.join(root, 'DEBIAN', 'control'),
    `Package: ${name}\nVersion: ${version}\nArchitecture: amd64\nSource: openssl\nMaintainer: Test <t@t.invalid>\nDescription: test\n`,
  );
  await mkdir(path.join(root, 'usr/share/doc', name), { recursive: true });
  if (text !== undefined)
    await writeFile(path.join(root, 'usr/share/doc', name, 'changelog.Debian.gz'), gzipSync(text));
  else await writeFile(path.join(root, 'usr/share/doc', name, 'copyright'), 'none\n');
  const out = path.join(dir, `${name}.deb`);
  await execa('dpkg-deb', ['--root-owner-group', '--build', root, out]);
  return readFile(out);
}

describe('what a nano update fixed', () => {
  it('takes the changelog entries between the two versions by dpkg ordering', () => {
    const entries = parseChangelog(changelog);
    expect(entries.map((e) => [e.version, e.distributions, e.urgency])).toEqual([
      ['3.5.4-1~deb13u2', 'trixie-security', 'high'],
      ['3.5.4-1~deb13u1', 'trixie', 'medium'],
      ['3.5.4-1', 'unstable', 'medium'],
    ]);
    // Only what is newer than the old version; `~` sorts before the end, so 3.5.4-1~deb13u2 is
    // older than 3.5.4-1 and nothing lies between them in that direction.
    expect(
      entriesBetween(entries, '3.5.4-1~deb13u1', '3.5.4-1~deb13u2').map((e) => e.version),
    ).toEqual(['3.5.4-1~deb13u2']);
    expect(entriesBetween(entries, '3.5.4-1', '3.5.4-1~deb13u2')).toEqual([]);
  });

  it('gives one `fixed` statement per CVE the new .deb’s changelog names since the old version', async () => {
    const dir = await tempDir('vex');
    const libssl = await debWithChangelog(dir, 'libssl3t64', '3.5.4-1~deb13u2', changelog);
    const nodoc = await debWithChangelog(
      dir,
      'openssl-provider-legacy',
      '3.5.4-1~deb13u2',
      undefined,
    );
    const purl = (n: string) => `pkg:deb/debian/${n}@3.5.4-1~deb13u2?arch=amd64`;
    const fixes = await nanoUpdateFixes([
      {
        name: 'libssl3t64',
        from: '3.5.4-1~deb13u1',
        to: '3.5.4-1~deb13u2',
        purl: purl('libssl3t64'),
        deb: libssl,
      },
      {
        name: 'openssl-provider-legacy',
        from: '3.5.4-1~deb13u1',
        to: '3.5.4-1~deb13u2',
        purl: purl('openssl-provider-legacy'),
        deb: nodoc,
      },
    ]);
    expect(fixes.packages.map((p) => [p.package, p.versions, p.cves, p.changelogFound])).toEqual([
      ['libssl3t64', ['3.5.4-1~deb13u2'], ['CVE-2026-1000', 'CVE-2026-1003'], true],
      ['openssl-provider-legacy', [], [], false],
    ]);

    const product = ociPurl('127.0.0.1:5000/kiln/python', `sha256:${'a'.repeat(64)}`);
    const doc = openVexDocument({
      product,
      fixed: fixes.fixed,
      notAffected: [
        // The CLI binary is not in the image: not affected.
        {
          cve: 'CVE-2026-5000',
          source: 'openssl',
          sourceVersion: '3.5.4-1~deb13u2',
          packages: [{ name: 'libssl3t64', purl: purl('libssl3t64') }],
          reason: { kind: 'binaries-absent', affected: ['openssl'] },
        },
        // Already fixed wins over not_affected.
        {
          cve: 'CVE-2026-1003',
          source: 'openssl',
          sourceVersion: '3.5.4-1~deb13u2',
          packages: [{ name: 'libssl3t64', purl: purl('libssl3t64') }],
          reason: { kind: 'never-affected', release: 'trixie' },
        },
      ],
      timestamp: '2026-11-30T10:00:00Z',
    });
    expect(doc['@context']).toBe('https://openvex.dev/ns/v0.2.0');
    expect(doc['@id']).toMatch(/^https:\/\/kiln\.dev\/vex\/[a-f0-9]{64}$/);
    expect(doc).toMatchObject({ author: 'kiln', version: 1, timestamp: '2026-11-30T10:00:00Z' });
    expect(doc.statements).toEqual([
      {
        vulnerability: { name: 'CVE-2026-1000' },
        products: [{ '@id': product, subcomponents: [{ '@id': purl('libssl3t64') }] }],
        status: 'fixed',
        status_notes: 'libssl3t64 3.5.4-1~deb13u1 → 3.5.4-1~deb13u2',
      },
      {
        vulnerability: { name: 'CVE-2026-1003' },
        products: [{ '@id': product, subcomponents: [{ '@id': purl('libssl3t64') }] }],
        status: 'fixed',
        status_notes: 'libssl3t64 3.5.4-1~deb13u1 → 3.5.4-1~deb13u2',
      },
      {
        vulnerability: { name: 'CVE-2026-5000' },
        products: [{ '@id': product, subcomponents: [{ '@id': purl('libssl3t64') }] }],
        status: 'not_affected',
        justification: 'vulnerable_code_not_present',
        impact_statement:
          'The vulnerable code of openssl 3.5.4-1~deb13u2 ships only in openssl, which this image does not carry; it carries libssl3t64.',
      },
    ]);
    // Same inputs (in any order), same document.
    expect(
      openVexDocument({
        product,
        fixed: fixes.fixed,
        notAffected: [],
        timestamp: 't',
      })['@id'],
    ).toBe(
      openVexDocument({
        product,
        fixed: [...fixes.fixed].reverse(),
        notAffected: [],
        timestamp: 't',
      })['@id'],
    );
  });
});
