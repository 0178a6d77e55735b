import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { makeDebianRepo } from '../../test/helpers/debian-repo.ts';
import { loadConfig } from '../config.ts';
import { PermanentError } from '../errors.ts';
import { recipeSchema } from '../recipe/schema.ts';
import { builders, getBuilder, loadBuilder } from './registry.ts';

const here = path.dirname(fileURLToPath(import.meta.url));

describe('builder registry', () => {
  it('lists exactly the folders under src/build/ that hold an index.ts', async () => {
    const folders: string[] = [];
    for (const entry of await readdir(here, { withFileTypes: true })) {
      if (!entry.isDirectory()) continue;
      const hasIndex = await stat(path.join(here, entry.name, 'index.ts')).then(
        () => true,
        () => false,
      );
      if (hasIndex) folders.push(entry.name);
    }
    expect([...builders.keys()].sort()).toEqual(folders.sort());
  });

  it('hands out builders whose id is their key', () => {
    const config = loadConfig({});
    for (const id of builders.keys()) expect(getBuilder(id, config).id).toBe(id);
  });

  it("states each builder's version and whether it resolves as the loaded builder does", async () => {
    const config = loadConfig({});
    for (const id of builders.keys()) {
      const lazy = getBuilder(id, config);
      const real = await loadBuilder(id, config);
      expect(real.id).toBe(id);
      expect(lazy.version, id).toBe(real.version);
      expect(Boolean(lazy.resolve), id).toBe(Boolean(real.resolve));
    }
    await expect(loadBuilder('kaniko', config)).rejects.toThrow(PermanentError);
  });

  it('refuses an unknown builder as permanent, naming the known ones', () => {
    expect(() => getBuilder('kaniko', loadConfig({}))).toThrow(PermanentError);
    expect(() => getBuilder('kaniko', loadConfig({}))).toThrow(/apko, debian, dockerfile/);
  });

  it('gives the debian builder the mirrors of the config it is handed, not the environment', async () => {
    const repo = await makeDebianRepo([{ name: 'hello', version: '1.0' }], { archs: ['amd64'] });
    const cacheDir = await mkdtemp(path.join(os.tmpdir(), 'kiln-registry-cache-'));
    const before = process.env.KILN_DEBIAN_MIRROR;
    // Nothing listens there: a builder that read the environment would fail to reach it.
    process.env.KILN_DEBIAN_MIRROR = 'http://127.0.0.1:9/debian';
    try {
      const config = loadConfig({
        KILN_DEBIAN_MIRROR: repo.url,
        KILN_DEBIAN_SECURITY_MIRROR: repo.url,
        KILN_DEBIAN_KEYRING: repo.keyring,
        KILN_CACHE_DIR: cacheDir,
      });
      const recipe = recipeSchema.parse({
        name: 'hello',
        description: 'test',
        license: 'MIT',
        upstream: { debian: { package: 'hello', suite: 'stable' } },
        versions: { scheme: 'debian' },
        build: {
          builder: 'debian',
          archs: ['amd64'],
          contents: { suites: ['stable'], packages: ['hello'] },
        },
      });
      const resolved = await getBuilder('debian', config).resolve?.(
        recipe,
        '',
        '1.0',
        'amd64',
        new AbortController().signal,
      );
      expect(resolved).toMatchObject({
        arch: 'amd64',
        lockfile: { packages: [{ name: 'hello' }] },
      });
    } finally {
      if (before === undefined) delete process.env.KILN_DEBIAN_MIRROR;
      else process.env.KILN_DEBIAN_MIRROR = before;
      await repo.close();
      await rm(cacheDir, { recursive: true, force: true });
    }
  }, 60_000);
});
