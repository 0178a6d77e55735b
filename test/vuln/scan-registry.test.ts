import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { debPurl } from '../../src/build/debian/image.ts';
import { publishImage } from '../../src/publish/index.ts';
import type { BuildPackage } from '../../src/model/build-result.ts';
import { generateKeyPair, loadPrivateKey } from '../../src/sign/keys.ts';
import { createSigner } from '../../src/sign/signer.ts';
import { testRegistryHost, uniqueName } from '../helpers/stack.ts';
import { makeLayout, makeRequest, pushArchs, registry } from '../publish/fixtures.ts';
import { debootstrapLayers, tempDir, trackerFeed, writeLayout } from './fixtures.ts';

const kiln = path.resolve('bin/kiln.js');

const pkg = (name: string, version: string, source: string): BuildPackage => ({
  name,
  version,
  arch: 'amd64',
  purl: debPurl(name, version, 'amd64'),
  sourcePackage: source,
  supplier: 'Debian',
});

describe('kiln scan of a published image (a real process, the real registry)', () => {
  it('reads the packages from the SPDX attestation, verified with --key', async () => {
    const repository = uniqueName('kiln/scan');
    const client = registry();
    const { layoutDir, images } = await makeLayout(['amd64'], 'scan');
    const archResults = (await pushArchs(client, repository, layoutDir, images, '3.13.5')).map(
      (r) => ({
        ...r,
        packages: [
          pkg('libssl3t64', '3.5.4-1~deb13u1', 'openssl'),
          pkg('libc6', '2.41-12', 'glibc'),
          pkg('zlib1g', '1:1.3.dfsg+really1.3.1-1+b1', 'zlib'),
        ],
      }),
    );
    const keys = generateKeyPair();
    await publishImage({
      client,
      repository,
      request: { ...makeRequest(repository, '3.13.5', ['3.13.5-r0']), archs: ['amd64'] },
      archResults,
      signer: createSigner(loadPrivateKey(keys.privatePem, undefined, 'test key')),
    });
    const dir = await tempDir('registry');
    await writeFile(path.join(dir, 'feed.json'), JSON.stringify(trackerFeed()));
    await writeFile(path.join(dir, 'key.pub'), keys.publicPem);
    const other = generateKeyPair();
    await writeFile(path.join(dir, 'other.pub'), other.publicPem);
    const env = {
      KILN_VULN_FEED: path.join(dir, 'feed.json'),
      KILN_CACHE_DIR: path.join(dir, 'cache'),
      KILN_LOG_LEVEL: 'silent',
    };
    const ref = `${testRegistryHost()}/${repository}:3.13.5-r0`;
    const r = await execa(
      'node',
      [kiln, 'scan', ref, '--key', path.join(dir, 'key.pub'), '--json'],
      { env, reject: false, timeout: 120_000 },
    );
    expect(r.stderr).toBe('');
    expect(r.exitCode).toBe(0);
    const report = JSON.parse(r.stdout) as {
      from: string;
      release: string;
      packages: number;
      findings: { cve: string; state: string; source: string }[];
    };
    // No os-release in an SBOM: the release comes from the ~deb13u1 version.
    expect(report).toMatchObject({ from: 'spdx', release: 'trixie', packages: 3 });
    expect(report.findings.map((f) => [f.cve, f.source, f.state])).toEqual([
      ['CVE-2026-1000', 'openssl', 'fixable'],
      ['CVE-2026-2001', 'glibc', 'unfixed'],
      ['CVE-2026-2000', 'glibc', 'unfixed'],
    ]);

    const wrongKey = await execa(
      'node',
      [kiln, 'scan', ref, '--key', path.join(dir, 'other.pub')],
      { env, reject: false, timeout: 120_000 },
    );
    expect(wrongKey.exitCode).toBe(1);
    expect(wrongKey.stderr).toMatch(/does not verify with the given key/);
  });

  it('reads the dpkg status from the layers of an image kiln did not build (copied with skopeo)', async () => {
    const dir = await tempDir('registry-foreign');
    const layout = await writeLayout(path.join(dir, 'layout'), debootstrapLayers());
    const repository = uniqueName('other/debian');
    const ref = `${testRegistryHost()}/${repository}:trixie`;
    await execa('skopeo', [
      'copy',
      '--dest-tls-verify=false',
      `oci:${layout}:latest`,
      `docker://${ref}`,
    ]);
    await writeFile(path.join(dir, 'feed.json'), JSON.stringify(trackerFeed()));
    const keys = generateKeyPair();
    await writeFile(path.join(dir, 'key.pub'), keys.publicPem);
    const env = {
      KILN_VULN_FEED: path.join(dir, 'feed.json'),
      KILN_CACHE_DIR: path.join(dir, 'cache'),
      KILN_LOG_LEVEL: 'silent',
    };
    const r = await execa('node', [kiln, 'scan', ref, '--json'], {
      env,
      reject: false,
      timeout: 120_000,
    });
    expect(r.stderr).toBe('');
    expect(r.exitCode).toBe(0);
    const report = JSON.parse(r.stdout) as {
      from: string;
      release: string;
      packages: number;
      summary: { total: number; fixable: number };
    };
    expect(report).toMatchObject({
      from: 'dpkg-status',
      release: 'trixie',
      packages: 4,
      summary: { total: 3, fixable: 1 },
    });
    // Asked to verify, an image with no SBOM attestation is refused rather than read unverified.
    const withKey = await execa('node', [kiln, 'scan', ref, '--key', path.join(dir, 'key.pub')], {
      env,
      reject: false,
      timeout: 120_000,
    });
    expect(withKey.exitCode).toBe(1);
    expect(withKey.stderr).toMatch(/no SPDX SBOM attestation .* to verify with the given key/);
  });
});
