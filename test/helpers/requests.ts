import { randomBytes } from 'node:crypto';
import type { BuildRequest } from '../../src/model/build-request.ts';
import type { BuildResult } from '../../src/model/build-result.ts';
import type { PublishResult } from '../../src/model/publish-result.ts';

/** A build request as a planner would make it, with a fresh inputs digest unless given. */
export function buildRequest(overrides: Partial<BuildRequest> = {}): BuildRequest {
  return {
    recipe: 'demo',
    recipeFile: 'recipes/demo.yaml',
    version: '1.2.3',
    epoch: 0,
    inputsDigest: `sha256:${randomBytes(32).toString('hex')}`,
    archs: ['amd64'],
    stream: '1',
    tags: ['1.2.3-r0', '1.2.3', '1.2', '1', 'latest'],
    repository: 'demo',
    priority: 'upstream',
    reason: 'new upstream 1.2.3',
    upstream: {},
    requestedAt: new Date(0).toISOString(),
    ...overrides,
  };
}

/** What a no-op builder returns: the queue tests and bench/queue measure the pipeline, not a build. */
export function noopBuildResult(arch: string, digest = `sha256:${'0'.repeat(64)}`): BuildResult {
  return {
    arch,
    manifest: { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest, size: 1 },
    size: 1,
    packages: [],
    materials: [],
    tests: [],
    builder: { id: 'noop', version: '0' },
    startedAt: new Date(0).toISOString(),
    finishedAt: new Date(0).toISOString(),
  };
}

/** What a no-op publish returns for a request. */
export function noopPublishResult(
  request: Pick<BuildRequest, 'recipe' | 'version' | 'repository'>,
  tags: string[] = [],
): PublishResult {
  return {
    recipe: request.recipe,
    version: request.version,
    repository: request.repository,
    digest: `sha256:${'1'.repeat(64)}`,
    tags,
    signed: false,
    attestations: [],
    changed: true,
    publishedAt: new Date(0).toISOString(),
  };
}
