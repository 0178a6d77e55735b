import { createHash } from 'node:crypto';
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { OciLayout } from '../../src/oci/layout.ts';
import { MediaType, platformOf, type Descriptor } from '../../src/oci/media-types.ts';
import { RegistryClient } from '../../src/oci/registry-client.ts';
import { pushArchImage } from '../../src/publish/push-arch.ts';
import type { BuildRequest } from '../../src/model/build-request.ts';
import type { BuildPackage, BuildResult } from '../../src/model/build-result.ts';
import { generateKeyPair, loadPrivateKey } from '../../src/sign/keys.ts';
import { createSigner, type Signer } from '../../src/sign/signer.ts';
import { testRegistryHost } from '../helpers/stack.ts';

export function newSigner(): Signer {
  return createSigner(loadPrivateKey(generateKeyPair().privatePem, undefined, 'test key'));
}

export function registry(): RegistryClient {
  return new RegistryClient({ host: testRegistryHost() });
}

/** Deterministic pseudo-random bytes: the same seed gives the same layer, hence the same digest. */
export function bytesOf(seed: string, size: number): Buffer {
  const out = Buffer.alloc(size);
  let block = createHash('sha256').update(seed).digest();
  for (let off = 0; off < size; off += block.length) {
    block.copy(out, off);
    block = createHash('sha256').update(block).digest();
  }
  return out;
}

export interface ArchImage {
  arch: string;
  manifest: Descriptor;
}

/**
 * A small multi-arch OCI layout: per arch, a config and two layers, one shared by all versions
 * (`base`) and one that changes with `seed` (the "package" layer).
 */
export async function makeLayout(
  archs: string[],
  seed: string,
  layerSize = 4096,
  dir?: string,
): Promise<{ layoutDir: string; images: ArchImage[] }> {
  const layoutDir = dir ?? (await mkdtemp(path.join(os.tmpdir(), 'kiln-publish-')));
  const layout = await OciLayout.create(layoutDir);
  const images: ArchImage[] = [];
  for (const arch of archs) {
    const base = await layout.writeBlob(bytesOf(`base-${arch}`, layerSize), MediaType.layerGzip);
    const app = await layout.writeBlob(bytesOf(`${seed}-${arch}`, layerSize), MediaType.layerGzip);
    const config = await layout.writeJson(
      {
        architecture: platformOf(arch).architecture,
        os: 'linux',
        config: {},
        rootfs: { type: 'layers', diff_ids: [base.digest, app.digest] },
      },
      MediaType.imageConfig,
    );
    const manifest = await layout.writeJson(
      { schemaVersion: 2, mediaType: MediaType.imageManifest, config, layers: [base, app] },
      MediaType.imageManifest,
    );
    images.push({ arch, manifest: { ...manifest, platform: platformOf(arch) } });
  }
  return { layoutDir, images };
}

export function packagesFor(arch: string, version: string): BuildPackage[] {
  return ['libc6', 'libssl3', 'python3'].map((name) => ({
    name,
    version: `${version}-1`,
    purl: `pkg:deb/debian/${name}@${version}-1?arch=${arch}`,
    arch,
    license: 'MIT',
    digest: `sha256:${createHash('sha256')
      .update(name + arch)
      .digest('hex')}`,
  }));
}

export function makeRequest(
  repository: string,
  version: string,
  tags: string[],
  overrides: Partial<BuildRequest> = {},
): BuildRequest {
  return {
    recipe: 'python',
    recipeFile: 'recipes/python.yaml',
    version,
    epoch: 0,
    inputsDigest: `sha256:${createHash('sha256')
      .update(`inputs-${version}-${overrides.epoch ?? 0}`)
      .digest('hex')}`,
    archs: ['amd64', 'arm64'],
    stream: '3',
    tags,
    versionScheme: 'semver',
    repository,
    priority: 'upstream',
    reason: `new upstream ${version}`,
    upstream: {
      tag: `v${version}`,
      url: 'https://example.org/python/cpython',
      releasedAt: '2025-01-01T00:00:00Z',
    },
    requestedAt: '2025-01-02T00:00:00Z',
    ...overrides,
  };
}

/** What the per-arch build jobs would hand to publish: push each arch, describe it. */
export async function pushArchs(
  client: RegistryClient,
  repository: string,
  layoutDir: string,
  images: ArchImage[],
  version: string,
): Promise<BuildResult[]> {
  const results: BuildResult[] = [];
  for (const image of images) {
    const pushed = await pushArchImage(client, repository, layoutDir, image.manifest);
    results.push({
      arch: image.arch,
      manifest: image.manifest,
      size: pushed.size,
      packages: packagesFor(image.arch, version),
      materials: [
        {
          uri: `https://example.org/python-${version}.tar.xz`,
          digest: { sha256: 'f'.repeat(64) },
          name: 'source',
        },
      ],
      tests: [],
      lockfileDigest: `sha256:${createHash('sha256').update(`lock-${image.arch}-${version}`).digest('hex')}`,
      builder: { id: 'debian', version: '1' },
      startedAt: '2025-01-02T00:01:00Z',
      finishedAt: '2025-01-02T00:05:00Z',
    });
  }
  return results;
}
