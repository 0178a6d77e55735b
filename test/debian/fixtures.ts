import { readFile, realpath } from 'node:fs/promises';
import { createLogger } from '../../src/log.ts';
import { createDebianBuilder } from '../../src/build/debian/index.ts';
import type { BuildInput } from '../../src/build/types.ts';
import type { Recipe } from '../../src/recipe/schema.ts';
import { recipeSchema } from '../../src/recipe/schema.ts';
import type { FakePackage } from '../helpers/debian-repo.ts';

/** A package holding the host's `env` and the C library it needs, so tests can run a binary. */
export async function hostEnvPackage(version = '1.0'): Promise<FakePackage> {
  const read = async (p: string): Promise<Buffer> => readFile(await realpath(p));
  return {
    name: 'envtool',
    version,
    depends: 'libc-fake (>= 1.0)',
    files: {
      'usr/bin/env': { data: await read('/usr/bin/env'), mode: 0o755 },
      'lib64/ld-linux-x86-64.so.2': {
        data: await read('/lib64/ld-linux-x86-64.so.2'),
        mode: 0o755,
      },
      'lib/x86_64-linux-gnu/libc.so.6': {
        data: await read('/lib/x86_64-linux-gnu/libc.so.6'),
        mode: 0o755,
      },
    },
  };
}

/** A valid recipe for the debian builder; `over` replaces fields of `build` and the top level. */
export function testRecipe(
  contents: { suites: string[]; packages: string[]; exclude?: string[] },
  over: Partial<Recipe> = {},
): Recipe {
  return recipeSchema.parse({
    name: 'testimg',
    description: 'test image',
    license: 'MIT',
    upstream: { debian: { package: contents.packages[0], suite: contents.suites[0] } },
    versions: { scheme: 'debian' },
    build: { builder: 'debian', archs: ['amd64'], contents },
    ...over,
  });
}

export function buildInput(
  recipe: Recipe,
  workDir: string,
  extra: Partial<BuildInput> = {},
): BuildInput {
  return {
    recipe,
    recipeFile: '/nonexistent/recipe.yaml',
    version: '1.0',
    epoch: 0,
    archs: recipe.build.archs,
    inputsDigest: `sha256:${'1'.repeat(64)}`,
    workDir,
    signal: new AbortController().signal,
    timeoutMs: 600_000,
    sourceDateEpoch: 1_700_000_000,
    log: createLogger({ level: 'silent' }),
    annotations: { 'org.opencontainers.image.version': '1.0' },
    ...extra,
  };
}

/** The debian builder reading a local test repository, with its own cache folder. */
export function localDebianBuilder(
  repo: () => { url: string; keyring: string },
  cacheDir: () => string,
) {
  return createDebianBuilder({
    settings: () => ({
      cacheDir: cacheDir(),
      debianMirror: repo().url,
      debianSecurityMirror: repo().url,
      debianKeyring: repo().keyring,
    }),
    sourceDateEpoch: () => undefined,
    // files.test.ts points KILN_NPM_REGISTRY at its own server once it has started.
    fileSources: () => ({ npmRegistry: process.env.KILN_NPM_REGISTRY }),
  });
}
