import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { LoadedRecipe } from '../recipe/load.ts';
import { recipeSchema } from '../recipe/schema.ts';
import type { UpstreamRelease } from '../versioning/release.ts';
import { compare } from '../versioning/scheme.ts';
import { selectVersions } from '../versioning/select.ts';
import { planRecipe } from './decide.ts';
import type { PublishedImage } from './published-state.ts';

/*
 * End to end through the planner: releases of a two-stream recipe arrive in a random order, one
 * per cycle; every build the planner asks for is published and its tags moved. Whatever the
 * order, no floating tag ever moves to a lower version, and `latest` always names the highest
 * version published.
 */

const recipe = (streams: string[] | undefined): LoadedRecipe => ({
  file: '/recipes/tool.yaml',
  recipe: recipeSchema.parse({
    name: 'tool',
    description: 'tool',
    license: 'MIT',
    upstream: { npm: 'tool' },
    versions: streams ? { streams } : {},
    build: { builder: 'dockerfile' },
  }),
});

const versionArb = fc
  .tuple(
    fc.integer({ min: 1, max: 2 }),
    fc.integer({ min: 0, max: 3 }),
    fc.integer({ min: 0, max: 3 }),
  )
  .map(([a, b, c]) => `${a}.${b}.${c}`);

function simulate(
  loaded: LoadedRecipe,
  order: string[],
  inputsChangeEvery: number,
): string | undefined {
  const registry = new Map<string, string>();
  const published: PublishedImage[] = [];
  const arrived: UpstreamRelease[] = [];
  order.forEach((version, cycle) => {
    arrived.push({
      version,
      tag: `v${version}`,
      prerelease: false,
      publishedAt: '2025-01-01T00:00:00Z',
    });
    const selection = selectVersions(
      arrived,
      { versions: loaded.recipe.versions },
      new Date('2025-06-01T00:00:00Z'),
    );
    const digest = `sha256:inputs-${Math.floor(cycle / inputsChangeEvery)}`;
    const decisions = planRecipe({
      loaded,
      selection,
      published,
      digestOf: () => digest,
      now: new Date(),
    });
    for (const d of decisions) {
      if (d.kind !== 'build') continue;
      published.push({
        version: d.version,
        epoch: d.epoch,
        inputsDigest: digest,
        tags: d.tags,
        digest: 'sha256:x',
      });
      for (const tag of d.tags.slice(2)) {
        const before = registry.get(tag);
        if (before !== undefined && compare('semver', d.version, before) < 0)
          throw new Error(`${tag} moved back from ${before} to ${d.version}`);
        registry.set(tag, d.version);
      }
    }
    const top = published.map((p) => p.version).sort((a, b) => compare('semver', b, a))[0];
    if (top !== undefined && registry.get('latest') !== top)
      throw new Error(`latest is ${registry.get('latest')}, highest published ${top}`);
  });
  return undefined;
}

describe('tag policy through the planner (property)', () => {
  it.each([
    ['two streams', ['1.x', '2.x']],
    ['minor streams sharing a major (backports)', ['~1.0.0', '~1.1.0', '~1.2.0', '~1.3.0', '2.x']],
    ['one stream', undefined],
  ] as const)('%s: random release orders never move a floating tag backwards', (_name, streams) => {
    const loaded = recipe(streams ? [...streams] : undefined);
    fc.assert(
      fc.property(
        fc.array(versionArb, { minLength: 1, maxLength: 12 }),
        fc.integer({ min: 1, max: 4 }),
        (order, every) => {
          expect(() => simulate(loaded, order, every)).not.toThrow();
        },
      ),
      { numRuns: 200 },
    );
  });
});
