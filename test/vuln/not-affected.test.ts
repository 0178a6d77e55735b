import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hostArch } from '../../src/build/host-arch.ts';
import type { ArchOutput } from '../../src/build/types.ts';
import { loadConfig } from '../../src/config.ts';
import type { BuildResult } from '../../src/model/build-result.ts';
import { spdxDocument } from '../../src/sbom/spdx.ts';
import { statement } from '../../src/sign/in-toto.ts';
import { checkVex } from '../../src/sign/verify-vex.ts';
import { packagesOfLayout } from '../../src/vuln/image-layout.ts';
import { packagesOfSpdx } from '../../src/vuln/image-registry.ts';
import { ociPurl, openVexDocument } from '../../src/vuln/openvex.ts';
import { notAffectedForPublish } from '../../src/vuln/publish-vex.ts';
import { clearCatalog, recordPublished } from '../../src/catalog/store.ts';
import { createLogger } from '../../src/log.ts';
import { scanCatalog } from '../../src/vuln/catalog-scan.ts';
import { scanImage } from '../../src/vuln/scan.ts';
import { sampleRecord } from '../catalog/fixtures.ts';
import { testRedis, uniqueName } from '../helpers/stack.ts';
import { buildInput, hostEnvPackage, localDebianBuilder, testRecipe } from '../debian/fixtures.ts';
import { makeDebianRepo, type DebianTestRepo } from '../helpers/debian-repo.ts';

/*
 * `not_affected` from real data shapes: a real image built by the debian builder from a local
 * signed repository whose Packages index says source glibc-fake builds libc-fake (a binNMU,
 * 1.0+b1 of source 1.0) and libc-fake-bin, and an OSV folder whose records name the affected
 * binaries the way Ubuntu's do (`ecosystem_specific.binaries`). The image carries libc-fake
 * only: a CVE in libc-fake-bin alone is not_affected; one that names libc-fake, one naming a
 * binary the index does not know, and one already fixed are not. kiln verify's check of the
 * statements against the SBOM refuses a claim the SBOM contradicts.
 */

const purlOf = (name: string, version: string) =>
  `pkg:deb/debian/${name}@${encodeURIComponent(version)}?arch=amd64`;

function osv(id: string, binaries: string[], fixed?: string) {
  return {
    id,
    affected: [
      {
        package: { ecosystem: 'Debian:13', name: 'glibc-fake' },
        ranges: [
          {
            type: 'ECOSYSTEM',
            events: [{ introduced: '0' }, ...(fixed ? [{ fixed }] : [])],
          },
        ],
        ecosystem_specific: {
          urgency: 'medium',
          binaries: binaries.map((b) => ({ binary_name: b, binary_version: '1.0' })),
        },
      },
    ],
  };
}

describe.skipIf(hostArch() !== 'amd64')('not_affected statements', () => {
  let repo: DebianTestRepo;
  let work: string;
  let archs: ArchOutput[];
  let layoutDir: string;

  beforeAll(async () => {
    work = await mkdtemp(path.join(os.tmpdir(), 'kiln-not-affected-'));
    repo = await makeDebianRepo(
      [
        { ...(await hostEnvPackage()), source: 'coreutils-fake (9.1-1)', suite: 'trixie' },
        { name: 'libc-fake', version: '1.0+b1', source: 'glibc-fake (1.0)', suite: 'trixie' },
        { name: 'libc-fake-bin', version: '1.0', source: 'glibc-fake', suite: 'trixie' },
      ],
      { suites: ['trixie', 'trixie-security'], archs: ['amd64'] },
    );
    const recipe = testRecipe({ suites: ['trixie'], packages: ['envtool'] });
    const out = await localDebianBuilder(
      () => repo,
      () => path.join(work, 'cache'),
    ).build(buildInput(recipe, path.join(work, 'build')));
    archs = out.archs;
    layoutDir = out.layoutDir;
    const feed = path.join(work, 'osv');
    await mkdir(feed);
    const records = [
      osv('DEBIAN-CVE-2026-7001', ['libc-fake-bin']),
      osv('DEBIAN-CVE-2026-7002', ['libc-fake', 'libc-fake-bin']),
      osv('DEBIAN-CVE-2026-7003', ['libc-fake-ghost']),
      osv('DEBIAN-CVE-2026-7004', ['libc-fake-bin'], '1.0'),
    ];
    for (const r of records) await writeFile(path.join(feed, `${r.id}.json`), JSON.stringify(r));
  }, 600_000);

  afterAll(async () => {
    await repo?.close();
    if (work) await rm(work, { recursive: true, force: true });
  });

  const builds = (): BuildResult[] =>
    archs.map((a) => ({
      ...a,
      size: 0,
      materials: [],
      builder: { id: 'debian', version: 'test' },
      startedAt: '2026-12-01T00:00:00Z',
      finishedAt: '2026-12-01T00:00:00Z',
    }));

  it('records the exact source version of a binNMU and of a source versioned apart', async () => {
    const packages = archs.flatMap((a) => a.packages);
    expect(packages.map((p) => [p.name, p.version, p.sourcePackage, p.sourceVersion])).toEqual(
      expect.arrayContaining([
        ['libc-fake', '1.0+b1', 'glibc-fake', '1.0'],
        ['envtool', '1.0', 'coreutils-fake', '9.1-1'],
      ]),
    );
    // The SBOM carries it, and a scan of the SBOM or of the image's dpkg status reads it back.
    const spdx = spdxDocument({
      name: 'x',
      digest: `sha256:${'a'.repeat(64)}`,
      packages,
      created: '2026-12-01T00:00:00Z',
    });
    for (const read of [
      packagesOfSpdx(spdx),
      (await packagesOfLayout(layoutDir, 'amd64')).packages,
    ])
      expect(read.map((p) => [p.name, p.source, p.sourceVersion])).toEqual(
        expect.arrayContaining([
          ['libc-fake', 'glibc-fake', '1.0'],
          ['envtool', 'coreutils-fake', '9.1-1'],
        ]),
      );
  });

  it('says not_affected only where the named binaries are all absent and the index knows them', async () => {
    const config = loadConfig({
      KILN_CACHE_DIR: path.join(work, 'cache'),
      KILN_DEBIAN_MIRROR: repo.url,
      KILN_DEBIAN_SECURITY_MIRROR: repo.url,
      KILN_DEBIAN_KEYRING: repo.keyring,
      KILN_VULN_FEED: path.join(work, 'osv'),
    });
    const recipe = testRecipe({ suites: ['trixie'], packages: ['envtool'] });
    const notAffected = await notAffectedForPublish({ config, recipe, builds: builds() });
    const libc = purlOf('libc-fake', '1.0+b1');
    expect(notAffected).toEqual([
      {
        cve: 'CVE-2026-7001',
        source: 'glibc-fake',
        sourceVersion: '1.0',
        packages: [{ name: 'libc-fake', purl: libc }],
        reason: { kind: 'binaries-absent', affected: ['libc-fake-bin'] },
      },
    ]);

    const digest = `sha256:${'b'.repeat(64)}`;
    const product = ociPurl('registry.invalid/kiln/testimg', digest);
    const doc = openVexDocument({
      product,
      fixed: [],
      notAffected,
      timestamp: '2026-12-01T00:00:00Z',
    });
    expect(doc.statements).toEqual([
      {
        vulnerability: { name: 'CVE-2026-7001' },
        products: [{ '@id': product, subcomponents: [{ '@id': libc }] }],
        status: 'not_affected',
        justification: 'vulnerable_code_not_present',
        impact_statement:
          'The vulnerable code of glibc-fake 1.0 ships only in libc-fake-bin, which this image does not carry; it carries libc-fake.',
      },
    ]);

    // kiln verify's check against the signed SBOM and provenance.
    const packages = archs.flatMap((a) => a.packages);
    const as = (type: string, predicate: unknown) =>
      statement('registry.invalid/kiln/testimg', digest, type, predicate);
    const sbom = as(
      'https://spdx.dev/Document',
      spdxDocument({ name: 'x', digest, packages, created: '2026-12-01T00:00:00Z' }),
    );
    const provenance = as('https://slsa.dev/provenance/v1', { buildDefinition: {} });
    const vex = as('https://openvex.dev/ns', doc);
    expect(checkVex(vex, provenance, sbom, 'testimg', digest, '')).toEqual({
      statements: 1,
      fixed: [],
      notAffected: ['CVE-2026-7001'],
    });
    // An SBOM that lists the binary the statement says is absent contradicts it.
    const withBin = as(
      'https://spdx.dev/Document',
      spdxDocument({
        name: 'x',
        digest,
        packages: [
          ...packages,
          { name: 'libc-fake-bin', version: '1.0', purl: purlOf('libc-fake-bin', '1.0') },
        ],
        created: '2026-12-01T00:00:00Z',
      }),
    );
    expect(() => checkVex(vex, provenance, withBin, 'testimg', digest, '')).toThrow(
      'not_affected because libc-fake-bin is not in the image, but the signed SBOM lists libc-fake-bin',
    );
    // A subcomponent the image does not carry, or a justification the spec does not define.
    const edited = (change: object) =>
      as('https://openvex.dev/ns', {
        ...doc,
        statements: doc.statements.map((s) => ({ ...s, ...change })),
      });
    expect(() =>
      checkVex(
        edited({
          products: [{ '@id': product, subcomponents: [{ '@id': purlOf('openssl', '3') }] }],
        }),
        provenance,
        sbom,
        'testimg',
        digest,
        '',
      ),
    ).toThrow('which the signed SBOM does not list');
    expect(() =>
      checkVex(edited({ justification: 'trust_me' }), provenance, sbom, 'testimg', digest, ''),
    ).toThrow('not an OpenVEX v0.2.0 document');
    // What go-vex (vexctl) refuses: a field of another status.
    expect(() =>
      checkVex(edited({ status: 'fixed' }), provenance, sbom, 'testimg', digest, ''),
    ).toThrow('the OpenVEX statement on CVE-2026-7001: fixed with justification, impact_statement');
    expect(() =>
      checkVex(
        edited({ justification: undefined, impact_statement: undefined }),
        provenance,
        sbom,
        'testimg',
        digest,
        '',
      ),
    ).toThrow('not_affected without a justification or an impact_statement');
  });

  it('kiln scan, the catalog count and the VEX agree on a CVE whose affected binaries are absent', async () => {
    const env = {
      KILN_CACHE_DIR: path.join(work, 'cache'),
      KILN_DEBIAN_MIRROR: repo.url,
      KILN_DEBIAN_SECURITY_MIRROR: repo.url,
      KILN_DEBIAN_KEYRING: repo.keyring,
      KILN_VULN_FEED: path.join(work, 'osv'),
      KILN_QUEUE_PREFIX: uniqueName('not-affected'),
    };
    const config = loadConfig(env);
    const recipe = testRecipe({ suites: ['trixie'], packages: ['envtool'] });
    const vex = await notAffectedForPublish({ config, recipe, builds: builds() });
    expect(vex.map((n) => n.cve)).toEqual(['CVE-2026-7001']);

    // kiln scan of the image's layout: 7001 is not affected (with its reason), not open.
    const report = await scanImage({ target: layoutDir, config, release: 'trixie', arch: 'amd64' });
    expect(report.warnings).toEqual([]);
    expect(report.findings.map((f) => f.cve).sort()).toEqual(['CVE-2026-7002', 'CVE-2026-7003']);
    expect(report.summary).toMatchObject({ total: 2 });
    expect(report.notAffected).toEqual([
      {
        cve: 'CVE-2026-7001',
        source: 'glibc-fake',
        sourceVersion: '1.0',
        packages: ['libc-fake'],
        reason: { kind: 'binaries-absent', affected: ['libc-fake-bin'] },
      },
    ]);

    // The catalog's count of the same image, published, from the real Redis.
    const redis = testRedis();
    try {
      const packages = archs.flatMap((a) => a.packages);
      await recordPublished(
        redis,
        config.queuePrefix,
        sampleRecord({
          recipe: recipe.name,
          version: '1.0',
          epoch: 0,
          packages: packages.map((p) => ({
            name: p.name,
            version: p.version,
            purl: p.purl,
            ...(p.sourcePackage ? { source: p.sourcePackage } : {}),
            ...(p.sourceVersion ? { sourceVersion: p.sourceVersion } : {}),
          })),
        }),
      );
      const scan = await scanCatalog({
        redis,
        prefix: config.queuePrefix,
        config,
        recipes: [{ file: '/r/testimg.yaml', recipe }],
        log: createLogger({ level: 'silent' }),
      });
      expect(scan?.summaries).toHaveLength(1);
      expect(scan?.summaries[0]).toMatchObject({ total: 2, fixable: 0 });
      // Open in the catalog = open in the scan; not affected in the scan = the VEX's statements.
      expect(scan?.summaries[0]?.total).toBe(report.summary.total);
      expect(
        report.notAffected.filter((n) => n.reason.kind === 'binaries-absent').map((n) => n.cve),
      ).toEqual(vex.filter((n) => n.reason.kind === 'binaries-absent').map((n) => n.cve));
    } finally {
      await clearCatalog(redis, config.queuePrefix);
      redis.disconnect();
    }
  });
});
