import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { beforeAll, describe, expect, it } from 'vitest';
import { debootstrapLayers, tempDir, trackerFeed, writeLayout } from './fixtures.ts';

const kiln = path.resolve('bin/kiln.js');

/** `kiln scan` of an image kiln did not build: a hand-made OCI layout of a debootstrap rootfs. */
describe('kiln scan (a real process)', () => {
  let dir = '';
  let layout = '';
  let env: Record<string, string> = {};
  beforeAll(async () => {
    dir = await tempDir('cli');
    layout = await writeLayout(path.join(dir, 'rootfs-layout'), debootstrapLayers());
    await writeFile(path.join(dir, 'feed.json'), JSON.stringify(trackerFeed()));
    env = {
      KILN_VULN_FEED: path.join(dir, 'feed.json'),
      KILN_CACHE_DIR: path.join(dir, 'cache'),
      KILN_LOG_LEVEL: 'silent',
      NO_COLOR: '1',
    };
  });

  const scan = (...args: string[]) =>
    execa('node', [kiln, 'scan', ...args], { env, reject: false, timeout: 120_000 });

  it('reads the packages dpkg recorded in the layers and lists fixable and unfixed CVEs', async () => {
    const r = await scan(layout, '--json');
    expect(r.stderr).toBe('');
    expect(r.exitCode).toBe(0);
    const report = JSON.parse(r.stdout) as {
      release: string;
      from: string;
      packages: number;
      summary: unknown;
      findings: { cve: string; state: string; packages: string[]; sourceVersion: string }[];
    };
    // The os-release symlink through /usr is followed; the later layer's status wins.
    expect(report).toMatchObject({ release: 'trixie', from: 'dpkg-status', packages: 4 });
    expect(report.summary).toEqual({
      total: 3,
      fixable: 1,
      byUrgency: { high: 1, medium: 1, low: 1 },
    });
    expect(
      report.findings.map((f) => [f.cve, f.state, f.packages.join(' '), f.sourceVersion]),
    ).toEqual([
      ['CVE-2026-1000', 'fixable', 'libssl3t64', '3.5.4-1~deb13u1'],
      ['CVE-2026-2001', 'unfixed', 'libc6', '2.41-12'],
      ['CVE-2026-2000', 'unfixed', 'libc6', '2.41-12'],
    ]);
  });

  it('prints a table, and exits 1 only when --fail-on is met; 2 for a bad urgency or no feed', async () => {
    const text = await scan(`oci:${layout}:latest`);
    expect(text.exitCode).toBe(0);
    expect(text.stdout).toMatch(/open CVEs: 3 \(1 high, 1 medium, 1 low\); fixable: 1/);
    expect(text.stdout).toMatch(
      /CVE-2026-1000\s+openssl 3\.5\.4-1~deb13u1\s+high\s+fixable\s+3\.5\.4-1~deb13u2 \(trixie-security\)\s+libssl3t64/,
    );

    expect((await scan(layout, '--fail-on', 'high')).exitCode).toBe(1);
    expect((await scan(layout, '--fail-on', 'medium', '--json')).exitCode).toBe(1);
    // Judged as bookworm, trixie's openssl is past bookworm's fix and glibc has no bookworm entry.
    const bookworm = await scan(layout, '--release', 'bookworm', '--fail-on', 'low', '--json');
    expect(bookworm.exitCode).toBe(0);
    expect(JSON.parse(bookworm.stdout)).toMatchObject({
      release: 'bookworm',
      summary: { total: 0, fixable: 0 },
    });

    const bad = await scan(layout, '--fail-on', 'severe');
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr).toMatch(/--fail-on severe: expected unimportant, low, medium, high/);

    const noFeed = await execa('node', [kiln, 'scan', layout], {
      env: { ...env, KILN_VULN_FEED: '' },
      reject: false,
      timeout: 120_000,
    });
    expect(noFeed.exitCode).toBe(2);
    expect(noFeed.stderr).toMatch(/set KILN_VULN_FEED/);

    const notImage = await scan(dir);
    expect(notImage.exitCode).toBe(1);
    expect(notImage.stderr).toMatch(/not an OCI image layout/);
  });
});
