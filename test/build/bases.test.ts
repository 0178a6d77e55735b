import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { execa } from 'execa';
import tar from 'tar-stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { baseDigests, resolveBases } from '../../src/build/dockerfile/bases.ts';
import { PermanentError } from '../../src/errors.ts';
import { OciLayout } from '../../src/oci/layout.ts';
import { MediaType, type Descriptor } from '../../src/oci/media-types.ts';
import { testRegistryHost, uniqueName } from '../helpers/stack.ts';

/** A one-file image in an OCI layout, tagged `tag`. */
async function makeImage(dir: string, tag: string, text = 'hello\n'): Promise<Descriptor> {
  const pack = tar.pack();
  pack.entry({ name: 'hello.txt', mtime: new Date(0) }, text);
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const chunk of pack) chunks.push(chunk as Buffer);
  const layerTar = Buffer.concat(chunks);
  const layout = await OciLayout.create(dir);
  const layer = await layout.writeBlob(gzipSync(layerTar), MediaType.layerGzip);
  const config = await layout.writeJson(
    {
      architecture: 'amd64',
      os: 'linux',
      config: {},
      rootfs: {
        type: 'layers',
        diff_ids: [`sha256:${createHash('sha256').update(layerTar).digest('hex')}`],
      },
    },
    MediaType.imageConfig,
  );
  const manifest = await layout.writeJson(
    { schemaVersion: 2, mediaType: MediaType.imageManifest, config, layers: [layer] },
    MediaType.imageManifest,
  );
  await layout.setRoot(manifest, tag);
  return manifest;
}

describe('kiln-built bases for FROM', () => {
  let dir: string;
  let image: Descriptor;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'kiln-bases-'));
    image = await makeImage(path.join(dir, 'recipes', 'layouts', 'tools'), '2.0');
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('resolves oci-layout: paths relative to the recipe, pinned by digest', async () => {
    const [base] = await resolveBases(
      { tools: 'oci-layout:layouts/tools:2.0' },
      { recipeDir: path.join(dir, 'recipes'), cacheDir: dir },
    );
    expect(base).toEqual({
      name: 'tools',
      layoutDir: path.join(dir, 'recipes', 'layouts', 'tools'),
      ref: '2.0',
      digest: image.digest,
      uri: `oci-layout:${path.join(dir, 'recipes', 'layouts', 'tools')}:2.0`,
    });
    await expect(
      resolveBases(
        { tools: 'oci-layout:layouts/tools:3.0' },
        { recipeDir: path.join(dir, 'recipes'), cacheDir: dir },
      ),
    ).rejects.toThrow('has no image tagged 3.0');
    await expect(
      resolveBases({ tools: 'docker.io/library/debian' }, { recipeDir: dir, cacheDir: dir }),
    ).rejects.toBeInstanceOf(PermanentError);
  });

  it('copies kiln:<recipe>:<tag> from KILN_REGISTRY into a local layout', async () => {
    const namespace = uniqueName('bases');
    const registry = `${testRegistryHost()}/${namespace}`;
    await execa('skopeo', [
      'copy',
      '--quiet',
      '--dest-tls-verify=false',
      `oci:${path.join(dir, 'recipes', 'layouts', 'tools')}:2.0`,
      `docker://${registry}/tools:2.0`,
    ]);
    const [base] = await resolveBases(
      { tools: 'kiln:tools:2.0' },
      { recipeDir: dir, cacheDir: path.join(dir, 'cache'), registry },
    );
    expect(base?.digest).toBe(image.digest);
    expect(base?.uri).toBe(`docker://${registry}/tools:2.0`);
    expect(base?.layoutDir).toBe(path.join(dir, 'cache', 'bases', 'tools-2.0'));
    // What the planner puts into the inputs digest: the digest each base names now, nothing copied.
    expect(
      await baseDigests(
        { tools: 'kiln:tools:2.0', local: 'oci-layout:layouts/tools:2.0' },
        { recipeDir: path.join(dir, 'recipes'), cacheDir: path.join(dir, 'cache2'), registry },
      ),
    ).toEqual({ local: image.digest, tools: image.digest });
    // The tag moves on (a nano update of the base) between plan and build: the build still
    // uses the digest the plan resolved.
    const newer = await makeImage(path.join(dir, 'newer'), '2.0', 'hello again\n');
    await execa('skopeo', [
      'copy',
      '--quiet',
      '--dest-tls-verify=false',
      `oci:${path.join(dir, 'newer')}:2.0`,
      `docker://${registry}/tools:2.0`,
    ]);
    const [pinned] = await resolveBases(
      { tools: 'kiln:tools:2.0' },
      {
        recipeDir: dir,
        cacheDir: path.join(dir, 'cache3'),
        registry,
        pinned: { tools: image.digest },
      },
    );
    expect(pinned?.digest).toBe(image.digest);
    const [latest] = await resolveBases(
      { tools: 'kiln:tools:2.0' },
      { recipeDir: dir, cacheDir: path.join(dir, 'cache4'), registry },
    );
    expect(latest?.digest).toBe(newer.digest);

    await expect(
      resolveBases({ tools: 'kiln:tools' }, { recipeDir: dir, cacheDir: dir }),
    ).rejects.toThrow('needs KILN_REGISTRY');
  });
});
