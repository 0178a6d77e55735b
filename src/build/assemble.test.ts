import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { OciLayout } from '../oci/layout.ts';
import { MediaType } from '../oci/media-types.ts';
import { manifestsUnderRoot, writeRootIndex } from './assemble.ts';

describe('assembling a tool’s layout into kiln’s shape', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'kiln-assemble-'));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('finds each arch’s manifest under a root index, skipping attestation manifests', async () => {
    const layout = await OciLayout.create(dir);
    const config = await layout.writeJson(
      { architecture: 'amd64', os: 'linux' },
      MediaType.imageConfig,
    );
    const manifest = (arch: string) =>
      layout.writeJson(
        {
          schemaVersion: 2,
          mediaType: MediaType.imageManifest,
          config,
          layers: [],
          annotations: { arch },
        },
        MediaType.imageManifest,
      );
    const amd64 = await manifest('amd64');
    const arm64 = await manifest('arm64');
    const attestation = await manifest('att');
    const toolIndex = await layout.writeJson(
      {
        schemaVersion: 2,
        mediaType: MediaType.imageIndex,
        manifests: [
          { ...arm64, platform: { architecture: 'arm64', os: 'linux' } },
          {
            ...attestation,
            platform: { architecture: 'unknown', os: 'unknown' },
            annotations: { 'vnd.docker.reference.type': 'attestation-manifest' },
          },
          { ...amd64, platform: { architecture: 'amd64', os: 'linux' } },
        ],
      },
      MediaType.imageIndex,
    );
    await layout.setRoot(toolIndex, 'latest');

    const found = await manifestsUnderRoot(dir, ['amd64', 'arm64']);
    expect(found.get('amd64')?.digest).toBe(amd64.digest);
    expect(found.get('arm64')).toEqual({
      ...arm64,
      platform: { architecture: 'arm64', os: 'linux', variant: 'v8' },
    });

    const index = await writeRootIndex(dir, found, { 'dev.kiln.recipe': 'demo' }, '1.0.0');
    const root = await layout.readIndex();
    expect(root.manifests).toEqual([
      { ...index, annotations: { 'org.opencontainers.image.ref.name': '1.0.0' } },
    ]);
    const written = await layout.readJson<{
      manifests: { digest: string }[];
      annotations: Record<string, string>;
    }>(index.digest);
    expect(written.manifests.map((m) => m.digest)).toEqual([amd64.digest, arm64.digest]);
    expect(written.annotations).toEqual({ 'dev.kiln.recipe': 'demo' });
  });

  it('says which arch a build did not produce', async () => {
    const layout = await OciLayout.create(dir);
    const config = await layout.writeJson({}, MediaType.imageConfig);
    const m = await layout.writeJson(
      { schemaVersion: 2, mediaType: MediaType.imageManifest, config, layers: [] },
      MediaType.imageManifest,
    );
    await layout.setRoot({ ...m, platform: { architecture: 'amd64', os: 'linux' } });
    await expect(manifestsUnderRoot(dir, ['amd64', 's390x'])).rejects.toThrow('no image for s390x');
  });
});
