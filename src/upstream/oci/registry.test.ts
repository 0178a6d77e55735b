import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { testRegistryHost, uniqueName } from '../../../test/helpers/stack.ts';
import { testSourceContext } from '../../../test/servers/context.ts';
import { ociSource } from './index.ts';

const sha = (data: string) => `sha256:${createHash('sha256').update(data).digest('hex')}`;

/** Pushes one tiny image (config only, no layers) under several tags with the distribution API. */
async function pushTags(base: string, tags: string[]): Promise<void> {
  const config = JSON.stringify({
    architecture: 'amd64',
    os: 'linux',
    rootfs: { type: 'layers', diff_ids: [] },
  });
  const start = await fetch(`${base}/blobs/uploads/`, { method: 'POST' });
  const location = new URL(start.headers.get('location') ?? '', base);
  location.searchParams.set('digest', sha(config));
  const put = await fetch(location, {
    method: 'PUT',
    body: config,
    headers: { 'content-type': 'application/octet-stream' },
  });
  expect(put.status).toBe(201);
  const manifest = JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: {
      mediaType: 'application/vnd.oci.image.config.v1+json',
      digest: sha(config),
      size: config.length,
    },
    layers: [],
  });
  for (const tag of tags) {
    const res = await fetch(`${base}/manifests/${tag}`, {
      method: 'PUT',
      body: manifest,
      headers: { 'content-type': 'application/vnd.oci.image.manifest.v1+json' },
    });
    expect(res.status).toBe(201);
  }
}

describe('oci source against the real registry', () => {
  it('lists the tags of a repository in docker-registry', async () => {
    const host = testRegistryHost();
    const repository = `kiln-test/${uniqueName('tags')}`;
    await pushTags(`http://${host}/v2/${repository}`, ['1.0.0', '1.1.0', 'v2.0.0-rc.1', 'latest']);
    const client = ociSource.open(testSourceContext({}));
    const result = await client.fetch({
      recipe: 'r',
      ref: `${host}/${repository}`,
      upstream: { oci: `${host}/${repository}` },
    });
    expect(result.releases.map((r) => r.tag).sort()).toEqual(['1.0.0', '1.1.0', 'v2.0.0-rc.1']);
    expect(result.releases.find((r) => r.tag === 'v2.0.0-rc.1')?.version).toBe('2.0.0-rc.1');
    expect(result.rejected.map((r) => r.tag)).toEqual(['latest']);
  });
});
