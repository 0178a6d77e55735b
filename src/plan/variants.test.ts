import { describe, expect, it } from 'vitest';
import { buildJobId, publishJobId } from '../queue/ids.ts';
import { parseRecipeSource } from '../recipe/load.ts';
import { expandVariants } from '../recipe/variants.ts';
import type { LoadedRecipe } from '../recipe/load.ts';
import { planRecipes } from './plan-recipes.ts';
import { publishedStateOf } from './published-state.ts';

const text = `
name: static
description: d
license: MIT
upstream: { debian: { package: base-files, suite: trixie } }
versions: { scheme: debian }
build:
  builder: debian
  archs: [amd64]
  contents: { suites: [trixie], packages: [base-files] }
variants: [dev]
`;
const parsed = parseRecipeSource(text, '/recipes/static.yaml');
if (!parsed.recipe) throw new Error(JSON.stringify(parsed.problems));
const main = parsed.recipe;
const recipes: LoadedRecipe[] = [main, ...expandVariants(main)].map((recipe) => ({
  file: '/recipes/static.yaml',
  recipe,
}));
const now = new Date('2026-06-01T00:00:00Z');
const releases = async () => [{ version: '13.2', tag: '13.2', prerelease: false }];

async function plan(published: Parameters<typeof publishedStateOf>[0]) {
  const plans = await planRecipes({
    recipes,
    releases,
    published: publishedStateOf(published),
    now,
    builderVersion: () => 'debian/1',
  });
  return plans.map((p) => p.decisions[0]);
}

describe('planning a recipe with a variant', () => {
  it('gives main and -dev their own decisions, inputs digests, job ids and suffixed tags', async () => {
    const [m, d] = await plan({});
    if (m?.kind !== 'build' || d?.kind !== 'build') throw new Error('expected two builds');
    expect(m.recipe).toBe('static');
    expect(d.recipe).toBe('static-dev');
    expect(m.tags).toEqual(['13.2-r0', '13.2', '13', 'latest']);
    expect(d.tags).toEqual(['13.2-r0-dev', '13.2-dev', '13-dev', 'latest-dev']);
    expect(d.request.repository).toBe('static');
    expect(m.request.repository).toBe('static');
    expect(d.request.inputsDigest).not.toBe(m.request.inputsDigest);
    const ids = (r: typeof m.request) => [
      buildJobId(r.recipe, r.version, r.inputsDigest, 'amd64'),
      publishJobId(r.recipe, r.version, r.inputsDigest),
    ];
    const [mb, mp] = ids(m.request);
    const [db, dp] = ids(d.request);
    expect(new Set([mb, mp, db, dp]).size).toBe(4);
    // Same inputs but another variant name: still another job.
    expect(buildJobId('static-dev', '13.2', m.request.inputsDigest, 'amd64')).not.toBe(mb);
  });

  it('counts epochs per variant: a nano update of main does not move -dev, and vice versa', async () => {
    const [m0, d0] = await plan({});
    if (m0?.kind !== 'build' || d0?.kind !== 'build') throw new Error('expected two builds');
    const image = (inputsDigest: string, epoch: number, tags: string[], digest: string) => ({
      version: '13.2',
      epoch,
      inputsDigest,
      tags,
      digest,
    });
    // main at r0 and r1 (older inputs at r0), -dev published once with its current inputs.
    const [m, d] = await plan({
      static: [
        image('sha256:old', 0, ['13.2-r0'], 'sha256:a'),
        image('sha256:older', 1, ['13.2-r1'], 'sha256:b'),
      ],
      'static-dev': [image(d0.request.inputsDigest, 0, d0.tags, 'sha256:c')],
    });
    expect(d?.kind).toBe('up-to-date');
    if (m?.kind !== 'build') throw new Error('expected a main build');
    expect(m.epoch).toBe(2);
    expect(m.tags[0]).toBe('13.2-r2');
    const [m2, d2] = await plan({
      static: [image(m0.request.inputsDigest, 0, m0.tags, 'sha256:a')],
      'static-dev': [image('sha256:old', 0, ['13.2-r0-dev'], 'sha256:c')],
    });
    expect(m2?.kind).toBe('up-to-date');
    if (d2?.kind !== 'build') throw new Error('expected a -dev build');
    expect(d2.epoch).toBe(1);
    expect(d2.tags).toEqual(['13.2-r1-dev', '13.2-dev', '13-dev', 'latest-dev']);
  });
});
