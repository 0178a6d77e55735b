import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDebianBuilder } from '../../src/build/debian/index.ts';
import { hostArch } from '../../src/build/host-arch.ts';
import { loadRecipeFile } from '../../src/recipe/index.ts';
import type { Recipe } from '../../src/recipe/schema.ts';
import { testCacheDir } from '../helpers/stack.ts';
import { buildInput } from './fixtures.ts';

/*
 * The shipped recipes against the real Debian archive, through the host's apt sources (mirror
 * and keyring). Lean on purpose: host arch only, and one package cache per test run (no result depends on an earlier run).
 */
const cacheDir = testCacheDir();
const builder = createDebianBuilder({
  settings: () => ({ cacheDir }),
  sourceDateEpoch: () => undefined,
});

async function recipe(file: string): Promise<Recipe> {
  const loaded = await loadRecipeFile(path.join(import.meta.dirname, '..', '..', 'recipes', file));
  if (!loaded.recipe) throw new Error(`recipe ${file}: ${JSON.stringify(loaded.problems)}`);
  return {
    ...loaded.recipe,
    build: { ...loaded.recipe.build, archs: [hostArch() === 'arm64' ? 'arm64' : 'amd64'] },
  };
}

describe.skipIf(hostArch() !== 'amd64' && hostArch() !== 'arm64')(
  'debian builder against the real archive',
  () => {
    let work: string;
    beforeAll(async () => {
      work = await mkdtemp(path.join(os.tmpdir(), 'kiln-real-'));
    });
    afterAll(async () => {
      await rm(work, { recursive: true, force: true });
    });

    it('builds static twice to the same index digest, bit for bit, and skopeo and umoci accept it', async () => {
      const r = await recipe('static.yaml');
      const a = await builder.build(
        buildInput(r, path.join(work, 'static-a'), { archs: r.build.archs }),
      );
      const b = await builder.build(
        buildInput(r, path.join(work, 'static-b'), { archs: r.build.archs }),
      );
      expect(b.index.digest).toBe(a.index.digest);
      const inspect = JSON.parse(
        (await execa('skopeo', ['inspect', `oci:${a.layoutDir}`])).stdout,
      ) as { Os: string; Layers: string[] };
      expect(inspect.Os).toBe('linux');
      expect(inspect.Layers.length).toBeGreaterThan(1);
      await execa('umoci', [
        'unpack',
        '--rootless',
        '--image',
        `${a.layoutDir}:1.0`,
        path.join(work, 'static-unpacked'),
      ]);
      const names = a.archs[0]?.packages.map((p) => p.name) ?? [];
      expect(names).toEqual(
        expect.arrayContaining(['base-files', 'ca-certificates', 'netbase', 'tzdata']),
      );
      expect(names.some((n) => ['bash', 'dash', 'busybox', 'dpkg', 'perl-base'].includes(n))).toBe(
        false,
      );
    });

    it("builds python, whose tests (python3 -c 'print(1)', imports of json, ssl, sqlite3) pass under bubblewrap", async () => {
      const r = await recipe('python.yaml');
      const out = await builder.build(
        buildInput(r, path.join(work, 'python'), { archs: r.build.archs, version: '3.13' }),
      );
      expect(out.archs[0]?.tests.map((t) => `${t.name}: ${t.status}`)).toEqual([
        'interpreter runs: passed',
        'json, ssl and sqlite3 import, CA bundle present: passed',
        'no gconv modules, text codecs still work: passed',
        'no shell: passed',
      ]);
      await execa('skopeo', ['inspect', `oci:${out.layoutDir}`]);
      await execa('umoci', [
        'unpack',
        '--rootless',
        '--image',
        `${out.layoutDir}:3.13`,
        path.join(work, 'python-unpacked'),
      ]);
    });
  },
);
