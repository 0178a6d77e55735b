import { describe, expect, it } from 'vitest';
import type { DebianResolved } from '../model/resolved.ts';
import type { LoadedRecipe } from '../recipe/load.ts';
import { recipeSchema } from '../recipe/schema.ts';
import { planRecipes } from './plan-recipes.ts';
import { publishedStateOf } from './published-state.ts';

const loaded: LoadedRecipe = {
  file: '/recipes/base.yaml',
  recipe: recipeSchema.parse({
    name: 'base',
    description: 'base',
    license: 'MIT',
    upstream: { debian: { package: 'base-files', suite: 'trixie' } },
    versions: { scheme: 'debian' },
    build: {
      builder: 'debian',
      archs: ['amd64', 'arm64'],
      contents: { suites: ['trixie'], packages: ['base-files'] },
    },
  }),
};
const now = new Date('2025-06-01T00:00:00Z');
const releases = async () => [{ version: '13.8', tag: '13.8', prerelease: false }];

/** What the debian builder resolves for one arch, with the lockfile digest the digest reads. */
function debianResolved(arch: string, lockfileDigest: string): DebianResolved {
  const lockfile = {
    'lockfile-version': 1 as const,
    arch,
    suites: ['trixie'],
    packages: [],
    excluded: [],
  };
  return { arch, lockfile, lockfileDigest };
}

describe('planRecipes', () => {
  it('a changed lockfile with the same upstream version is a nano update (next epoch)', async () => {
    let lock = 'sha256:lock-1';
    const resolve = async () => ({
      amd64: debianResolved('amd64', lock),
      arm64: debianResolved('arm64', `${lock}-arm64`),
    });
    const first = await planRecipes({
      recipes: [loaded],
      releases,
      published: publishedStateOf({}),
      now,
      resolve,
      builderVersion: () => 'debian/1.0.0',
    });
    const d1 = first[0]?.decisions[0];
    if (d1?.kind !== 'build') throw new Error('expected a build');
    expect(d1.epoch).toBe(0);
    expect(d1.request.resolved).toEqual({
      amd64: debianResolved('amd64', 'sha256:lock-1'),
      arm64: debianResolved('arm64', 'sha256:lock-1-arm64'),
    });
    const published = publishedStateOf({
      base: [
        {
          version: '13.8',
          epoch: 0,
          inputsDigest: d1.request.inputsDigest,
          tags: d1.tags,
          digest: 'sha256:x',
        },
      ],
    });

    const same = await planRecipes({
      recipes: [loaded],
      releases,
      published,
      now,
      resolve,
      builderVersion: () => 'debian/1.0.0',
    });
    expect(same[0]?.decisions[0]).toMatchObject({ kind: 'up-to-date', version: '13.8', epoch: 0 });

    lock = 'sha256:lock-2';
    const nano = await planRecipes({
      recipes: [loaded],
      releases,
      published,
      now,
      resolve,
      builderVersion: () => 'debian/1.0.0',
    });
    expect(nano[0]?.decisions[0]).toMatchObject({
      kind: 'build',
      epoch: 1,
      reason: 'inputs changed for 13.8 (r0 → r1)',
      tags: ['13.8-r1', '13.8', '13', 'latest'],
    });

    const newBuilder = await planRecipes({
      recipes: [loaded],
      releases,
      published,
      now,
      resolve: async () => ({
        amd64: debianResolved('amd64', 'sha256:lock-1'),
        arm64: debianResolved('arm64', 'sha256:lock-1-arm64'),
      }),
      builderVersion: () => 'debian/2.0.0',
    });
    expect(newBuilder[0]?.decisions[0]).toMatchObject({ kind: 'build', epoch: 1 });
  });

  it('an upstream that fails gives that recipe an error and the others are planned', async () => {
    const other: LoadedRecipe = { ...loaded, recipe: { ...loaded.recipe, name: 'other' } };
    const plans = await planRecipes({
      recipes: [loaded, other],
      releases: async (r) => {
        if (r.name === 'base') throw new Error('archive unreachable');
        return releases();
      },
      published: publishedStateOf({}),
      now,
    });
    expect(plans.map((p) => [p.recipe, p.decisions[0]?.kind, p.decisions[0]?.reason])).toEqual([
      ['base', 'error', 'planning base: archive unreachable'],
      ['other', 'build', 'new upstream 13.8'],
    ]);
  });
});
