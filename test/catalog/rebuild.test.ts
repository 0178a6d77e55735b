import type { RedisClient } from '../../src/queue/connection.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rebuildCatalogFromRegistry } from '../../src/catalog/rebuild.ts';
import { clearCatalog, getImage, recordPublished, tagHistory } from '../../src/catalog/store.ts';
import { RegistryClient } from '../../src/oci/registry-client.ts';
import { pushArtifact, pushSmallImage } from '../api/push-image.ts';
import { testRedis, testRegistryHost, uniqueName } from '../helpers/stack.ts';
import { fakeDigest, sampleRecord } from './fixtures.ts';

let redis: RedisClient;
beforeAll(() => {
  redis = testRedis();
});
afterAll(async () => {
  await redis.quit();
});

const dsse = (statement: unknown) =>
  Buffer.from(
    JSON.stringify({
      payloadType: 'application/vnd.in-toto+json',
      payload: Buffer.from(JSON.stringify(statement)).toString('base64'),
      signatures: [{ sig: 'AAAA' }],
    }),
  );

describe('rebuildCatalogFromRegistry', () => {
  it('derives records from version tags, annotations, signature and SPDX attestation tags', async () => {
    const prefix = uniqueName('rebuild');
    const path = `${uniqueName('ns')}/tool`;
    const host = testRegistryHost();
    const inputs = fakeDigest('tool inputs');
    const pushed = await pushSmallImage(
      host,
      path,
      '2.1.0',
      ['amd64', 'arm64'],
      ['2.1.0-r1', '2.1.0', 'latest', '2.1.0-r1-202603011000'],
      {
        'dev.kiln.inputs-digest': inputs,
        'dev.kiln.epoch': '1',
        'org.opencontainers.image.created': '2026-03-01T10:00:00Z',
        'dev.kiln.upstream-released-at': '2026-03-01T07:00:00Z',
      },
    );
    const hex = pushed.digest.slice('sha256:'.length);
    await pushArtifact(host, path, `sha256-${hex}.sig`, [
      {
        mediaType: 'application/vnd.dev.cosign.simplesigning.v1+json',
        data: Buffer.from('{}'),
        annotations: { 'dev.cosignproject.cosign/signature': 'AAAA' },
      },
    ]);
    const spdx = {
      _type: 'https://in-toto.io/Statement/v1',
      subject: [{ name: path, digest: { sha256: hex } }],
      predicateType: 'https://spdx.dev/Document',
      predicate: {
        spdxVersion: 'SPDX-2.3',
        packages: [
          { name: 'tool', versionInfo: '2.1.0' },
          {
            name: 'libc6',
            versionInfo: '2.36-9',
            licenseConcluded: 'LGPL-2.1-or-later',
            externalRefs: [
              {
                referenceCategory: 'PACKAGE-MANAGER',
                referenceType: 'purl',
                referenceLocator: 'pkg:deb/debian/libc6@2.36-9?arch=amd64',
              },
            ],
          },
        ],
      },
    };
    await pushArtifact(host, path, `sha256-${hex}.att`, [
      {
        mediaType: 'application/vnd.dsse.envelope.v1+json',
        data: dsse(spdx),
        annotations: { predicateType: 'https://spdx.dev/Document' },
      },
      {
        mediaType: 'application/vnd.dsse.envelope.v1+json',
        data: dsse({ ...spdx, predicateType: 'https://slsa.dev/provenance/v1', predicate: {} }),
        annotations: { predicateType: 'https://slsa.dev/provenance/v1' },
      },
    ]);
    // Something stale in the catalog that the registry does not have: the rebuild drops it.
    await recordPublished(redis, prefix, sampleRecord({ recipe: 'tool', version: '9.9.9' }));

    const client = new RegistryClient({ host });
    const written = await rebuildCatalogFromRegistry({
      redis,
      prefix,
      client,
      images: [{ recipe: 'tool', repository: 'tool', path, description: 'A tool' }],
    });
    expect(written).toHaveLength(1);

    const image = await getImage(redis, prefix, 'tool', { staleAfterMs: 3_600_000 });
    expect(image?.versions.map((v) => v.version)).toEqual(['2.1.0']);
    expect(image?.latest).toMatchObject({
      version: '2.1.0',
      epoch: 1,
      digest: pushed.digest,
      inputsDigest: inputs,
      signed: true,
      attestations: ['https://spdx.dev/Document', 'https://slsa.dev/provenance/v1'],
      packages: [
        {
          name: 'libc6',
          version: '2.36-9',
          purl: 'pkg:deb/debian/libc6@2.36-9?arch=amd64',
          license: 'LGPL-2.1-or-later',
        },
      ],
      description: 'A tool',
      publishedAt: '2026-03-01T10:00:00Z',
    });
    expect(image?.latest.archs).toEqual(pushed.archs);
    // The build tag is read from the repository's tags; it is no tag that moves.
    expect(image?.latest.buildTag).toBe('2.1.0-r1-202603011000');
    expect(image?.freshnessMs).toBe(3 * 3_600_000);
    expect(image?.tags.map((t) => t.tag).sort()).toEqual(['2.1.0', '2.1.0-r1', 'latest']);
    expect((await tagHistory(redis, prefix, 'tool')).every((e) => e.version === '2.1.0')).toBe(
      true,
    );
    await clearCatalog(redis, prefix);
  });
});
