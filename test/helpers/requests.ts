import { randomBytes } from 'node:crypto';
import type { BuildRequest } from '../../src/queue/types.ts';

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
