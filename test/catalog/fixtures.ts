import { createHash } from 'node:crypto';
import type { CatalogRecord } from '../../src/catalog/record.ts';

/** A deterministic fake `sha256:…` for a label: records in tests need well-formed digests. */
export function fakeDigest(label: string): string {
  return `sha256:${createHash('sha256').update(label).digest('hex')}`;
}

/** A complete catalog record for `recipe@version`, with overrides. */
export function sampleRecord(
  overrides: Partial<CatalogRecord> & Pick<CatalogRecord, 'recipe'>,
): CatalogRecord {
  const version = overrides.version ?? '1.2.3';
  const epoch = overrides.epoch ?? 0;
  const label = `${overrides.recipe}@${version}-r${epoch}`;
  return {
    repository: overrides.recipe,
    version,
    epoch,
    digest: fakeDigest(`${label}/index`),
    tags: [`${version}-r${epoch}`, version, 'latest'],
    archs: [
      { arch: 'amd64', digest: fakeDigest(`${label}/amd64`), size: 12_345_678 },
      { arch: 'arm64', digest: fakeDigest(`${label}/arm64`), size: 11_987_654 },
    ],
    packages: [
      {
        name: 'libc6',
        version: '2.36-9+deb12u7',
        purl: 'pkg:deb/debian/libc6@2.36-9+deb12u7?arch=amd64',
        license: 'LGPL-2.1-or-later',
      },
      {
        name: 'ca-certificates',
        version: '20230311',
        purl: 'pkg:deb/debian/ca-certificates@20230311?arch=all',
        license: 'MPL-2.0',
      },
    ],
    signed: true,
    attestations: ['https://spdx.dev/Document', 'https://slsa.dev/provenance/v1'],
    inputsDigest: fakeDigest(`${label}/inputs`),
    upstream: {
      releasedAt: '2026-01-01T00:00:00.000Z',
      url: `https://example.invalid/${overrides.recipe}/releases/${version}`,
    },
    publishedAt: '2026-01-01T02:00:00.000Z',
    builtAt: '2026-01-01T01:50:00.000Z',
    buildDurationMs: 95_000,
    description: `${overrides.recipe}, rebuilt continuously`,
    homepage: `https://example.invalid/${overrides.recipe}`,
    license: 'Apache-2.0',
    ...overrides,
  };
}
