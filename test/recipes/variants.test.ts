import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDebianBuilder } from '../../src/build/debian/index.ts';
import { hostArch } from '../../src/build/host-arch.ts';
import { testInSandbox } from '../../src/build/sandbox-tests.ts';
import { loadRecipes } from '../../src/recipe/index.ts';
import type { Recipe } from '../../src/recipe/schema.ts';
import { buildInput } from '../debian/fixtures.ts';
import { testCatalogCacheDir } from '../helpers/stack.ts';

/*
 * static and its `-dev` variant, expanded from recipes/static.yaml and built for real against the
 * host's Debian archive (host arch): the variant's own test (`/bin/sh -c 'echo ok'`) passes under
 * bubblewrap, and the same command fails in the main image, which has no shell.
 */
const cacheDir = testCatalogCacheDir();
const builder = createDebianBuilder({ settings: () => ({ cacheDir }), sourceDateEpoch: () => undefined });
const arch = hostArch() === 'arm64' ? 'arm64' : 'amd64';

async function shipped(name: string): Promise<Recipe> {
  const { recipes } = await loadRecipes([path.join(import.meta.dirname, '..', '..', 'recipes', 'static.yaml')]);
  const found = recipes.find((r) => r.recipe.name === name)?.recipe;
  if (!found) throw new Error(`recipes/static.yaml gives no ${name}`);
  return { ...found, build: { ...found.build, archs: [arch] } };
}

describe.skipIf(hostArch() !== 'amd64' && hostArch() !== 'arm64')('static-dev, for real', () => {
  let work: string;
  beforeAll(async () => {
    work = await mkdtemp(path.join(os.tmpdir(), 'kiln-variant-'));
  });
  afterAll(async () => {
    await rm(work, { recursive: true, force: true });
  });

  it('has a working shell under bubblewrap and runs as root, while static still has none', async () => {
    const dev = await shipped('static-dev');
    const main = await shipped('static');
    const devOut = await builder.build(buildInput(dev, path.join(work, 'dev'), { archs: [arch] }));
    const mainOut = await builder.build(buildInput(main, path.join(work, 'main'), { archs: [arch] }));
    const devArch = devOut.archs[0];
    const mainArch = mainOut.archs[0];
    if (!devArch || !mainArch) throw new Error('no arch output');
    expect(devArch.tests.map((t) => `${t.name}: ${t.status}`)).toContain('dev variant has a shell: passed');
    expect(devArch.packages.map((p) => p.name)).toContain('busybox-static');
    expect(mainArch.packages.map((p) => p.name)).not.toContain('busybox-static');
    expect(devOut.index.digest).not.toBe(mainOut.index.digest);
    const shell = [{ name: 'shell', run: ['/bin/sh', '-c', 'echo ok; id -u'], 'expect-output': 'ok\n0' }];
    const common = { arch, tests: shell, version: '1.0', signal: new AbortController().signal };
    const ran = await testInSandbox({
      ...common,
      layoutDir: devOut.layoutDir,
      manifest: devArch.manifest,
      workDir: path.join(work, 'dev-run'),
    });
    expect(ran.map((t) => t.status)).toEqual(['passed']);
    await expect(
      testInSandbox({
        ...common,
        layoutDir: mainOut.layoutDir,
        manifest: mainArch.manifest,
        workDir: path.join(work, 'main-run'),
      }),
    ).rejects.toThrow();
  });
});
