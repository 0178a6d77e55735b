import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { BuildRequest } from '../model/build-request.ts';
import type { BuildResult } from '../model/build-result.ts';
import { PredicateType, statement, statementType } from './in-toto.ts';
import { slsaProvenance } from './provenance.ts';

/*
 * The SLSA Provenance v1 structure (slsa.dev/spec/v1.0/provenance), written from the spec:
 * buildDefinition {buildType: URI, externalParameters: object, internalParameters?,
 * resolvedDependencies?: ResourceDescriptor[]} and runDetails {builder {id: URI, version?},
 * metadata? {invocationId?, startedOn?, finishedOn?: timestamps}, byproducts?}. A
 * ResourceDescriptor needs at least one of uri, digest, content; digests map algorithm → hex.
 */
const uri = z.string().regex(/^[a-z][a-z0-9+.-]*:/);
const timestamp = z.string().regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/);
const digestSet = z.record(z.string().regex(/^[a-z0-9-]+$/), z.string().regex(/^[a-f0-9]+$/));
const resourceDescriptor = z
  .object({
    uri: uri.optional(),
    digest: digestSet.optional(),
    content: z.string().optional(),
    name: z.string().optional(),
    mediaType: z.string().optional(),
  })
  .refine(
    (d) => d.uri !== undefined || d.digest !== undefined || d.content !== undefined,
    'needs uri, digest or content',
  );
const slsaV1 = z.strictObject({
  buildDefinition: z.strictObject({
    buildType: uri,
    externalParameters: z.record(z.string(), z.unknown()),
    internalParameters: z.record(z.string(), z.unknown()).optional(),
    resolvedDependencies: z.array(resourceDescriptor).optional(),
  }),
  runDetails: z.strictObject({
    builder: z.strictObject({
      id: uri,
      version: z.record(z.string(), z.string()).optional(),
      builderDependencies: z.array(resourceDescriptor).optional(),
    }),
    metadata: z
      .strictObject({
        invocationId: z.string().optional(),
        startedOn: timestamp.optional(),
        finishedOn: timestamp.optional(),
      })
      .optional(),
    byproducts: z.array(resourceDescriptor).optional(),
  }),
});

const request: BuildRequest = {
  recipe: 'python',
  recipeFile: 'recipes/python.yaml',
  version: '3.12.7',
  epoch: 2,
  inputsDigest: `sha256:${'1'.repeat(64)}`,
  archs: ['arm64', 'amd64'],
  stream: '3.12',
  tags: ['3.12.7-r2'],
  repository: 'python',
  priority: 'security',
  reason: 'openssl 3.0.15 (security)',
  upstream: {
    tag: 'v3.12.7',
    url: 'https://example.org/cpython',
    releasedAt: '2024-10-01T00:00:00Z',
  },
  requestedAt: '2024-10-02T00:00:00Z',
};

function result(arch: string, startedAt: string, finishedAt: string): BuildResult {
  return {
    arch,
    manifest: {
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      digest: `sha256:${arch === 'amd64' ? 'a'.repeat(64) : 'b'.repeat(64)}`,
      size: 500,
    },
    size: 1000,
    packages: [],
    materials: [
      {
        uri: 'https://example.org/Python-3.12.7.tar.xz',
        digest: { sha256: 'c'.repeat(64) },
        name: 'source',
      },
    ],
    tests: [],
    lockfileDigest: `sha256:${arch === 'amd64' ? 'd'.repeat(64) : 'e'.repeat(64)}`,
    builder: { id: 'debian', version: '3' },
    startedAt,
    finishedAt,
  };
}

describe('SLSA provenance v1', () => {
  const predicate = slsaProvenance({
    request,
    archResults: [
      result('amd64', '2024-10-02T00:02:00Z', '2024-10-02T00:09:00Z'),
      result('arm64', '2024-10-02T00:01:00Z', '2024-10-02T00:07:00Z'),
    ],
  });

  it('meets the v1 structure', () => {
    expect(slsaV1.safeParse(predicate).error?.issues ?? []).toEqual([]);
    const s = statement(
      'reg/python',
      `sha256:${'f'.repeat(64)}`,
      PredicateType.slsaProvenance,
      predicate,
    );
    expect(s._type).toBe(statementType);
    expect(s.subject).toEqual([{ name: 'reg/python', digest: { sha256: 'f'.repeat(64) } }]);
  });

  it('records the recipe and upstream version as external parameters, lockfiles and sources as dependencies, the time span', () => {
    expect(predicate.buildDefinition.externalParameters).toMatchObject({
      recipe: { name: 'python', file: 'recipes/python.yaml' },
      version: '3.12.7',
      epoch: 2,
    });
    const deps = predicate.buildDefinition.resolvedDependencies;
    expect(deps).toContainEqual({
      uri: 'https://example.org/Python-3.12.7.tar.xz',
      digest: { sha256: 'c'.repeat(64) },
      name: 'source',
    });
    expect(deps).toContainEqual({ name: 'lockfile-amd64', digest: { sha256: 'd'.repeat(64) } });
    expect(deps).toContainEqual({ name: 'lockfile-arm64', digest: { sha256: 'e'.repeat(64) } });
    expect(deps.filter((d) => d.name === 'source')).toHaveLength(1);
    expect(predicate.runDetails.metadata).toMatchObject({
      startedOn: '2024-10-02T00:01:00Z',
      finishedOn: '2024-10-02T00:09:00Z',
    });
    expect(predicate.buildDefinition.internalParameters.inputsDigest).toBe(request.inputsDigest);
  });
});
