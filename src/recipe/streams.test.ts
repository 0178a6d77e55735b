import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { planRecipes } from '../plan/plan-recipes.ts';
import { publishedStateOf } from '../plan/published-state.ts';
import { releasesFor } from '../plan/releases-for.ts';
import type { UpstreamRelease } from '../versioning/release.ts';
import { loadRecipeFile, parseRecipeSource } from './load.ts';
import type { Recipe } from './schema.ts';
import { releaseKey, streamRecipe, streamRecipes, watchedUpstreams } from './streams.ts';
import { expandVariants } from './variants.ts';

const java = path.join(import.meta.dirname, '../../recipes/java.yaml');

async function javaRecipe(): Promise<Recipe> {
  const loaded = await loadRecipeFile(java);
  if (!loaded.recipe) throw new Error(JSON.stringify(loaded.problems));
  return loaded.recipe;
}

const release = (version: string): UpstreamRelease => ({
  version,
  tag: version,
  prerelease: false,
});

describe('per-stream contents (src/recipe/streams.ts)', () => {
  it('recipes/java.yaml: the 25 stream tracks, installs, links and tests JDK 25; the 21 stream JDK 21', async () => {
    const recipe = await javaRecipe();
    const [r21, r25] = streamRecipes(recipe);
    expect(r25?.upstream.debian?.package).toBe('openjdk-25-jre-headless');
    expect(r25?.build.contents?.packages).toContain('openjdk-25-jre-headless');
    expect(r25?.build.contents?.packages.join(' ')).not.toMatch(/openjdk-21|\$\{stream\}/);
    expect(r25?.build.paths).toContainEqual(
      expect.objectContaining({
        path: '/usr/lib/jvm/default-java',
        source: 'java-25-openjdk-${arch}',
      }),
    );
    expect(r25?.test.find((t) => t.name === 'version')?.['expect-output']).toBe(
      'openjdk version "25.',
    );
    expect(r25?.versions.streams).toEqual([{ name: '25', range: '>=25.0.0 <26.0.0' }]);
    expect(r21?.upstream.debian?.package).toBe('openjdk-21-jre-headless');
    expect(r21?.build.contents?.packages).toContain('openjdk-21-jre-headless');
    expect(JSON.stringify(r21)).not.toContain('${stream}');
    // Each stream's upstream is watched on its own: the first under the recipe's name.
    expect([r21, r25].map((r) => r && releaseKey(r))).toEqual(['java', 'java#25']);
    expect(watchedUpstreams(recipe)).toEqual([
      {
        key: 'java',
        upstream: {
          debian: { package: 'openjdk-21-jre-headless', suite: ['trixie', 'trixie-security'] },
        },
      },
      {
        key: 'java#25',
        upstream: {
          debian: { package: 'openjdk-25-jre-headless', suite: ['trixie', 'trixie-security'] },
        },
      },
    ]);
    // The -dev variant resolves the same way, and keeps its shell on top.
    const dev = expandVariants(recipe)[0];
    const dev25 = dev && streamRecipe(dev, '25');
    expect(dev25?.build.contents?.packages).toEqual(
      expect.arrayContaining(['openjdk-25-jre-headless', 'busybox-static']),
    );
    expect(dev25 && releaseKey(dev25)).toBe('java-dev#25');
  });

  it("a stream's own `upstream` replaces the recipe's; a recipe with shared contents is left as it is", () => {
    const parsed = parseRecipeSource(
      [
        'name: tool',
        'description: d',
        'license: MIT',
        'upstream: { debian: { package: tool, suite: trixie } }',
        'versions:',
        '  scheme: debian',
        '  streams:',
        "    - { name: '1', range: '>=1 <2' }",
        "    - { name: '2', range: '>=2 <3', upstream: { debian: { package: tool2, suite: forky } } }",
        'build: { builder: debian, contents: { suites: [trixie], packages: [tool] } }',
      ].join('\n'),
      'tool.yaml',
    );
    expect(parsed.problems).toEqual([]);
    const recipe = parsed.recipe;
    if (!recipe) throw new Error('no recipe');
    expect(streamRecipe(recipe, '2').upstream).toEqual({
      debian: { package: 'tool2', suite: 'forky' },
    });
    expect(streamRecipe(recipe, '1').upstream).toEqual({
      debian: { package: 'tool', suite: 'trixie' },
    });
    expect(() => streamRecipe(recipe, '3')).toThrow(/no stream "3" \(streams: 1, 2\)/);
    const plain = { ...recipe, versions: { ...recipe.versions, streams: ['>=1 <2'] } };
    expect(streamRecipe(plain, '>=1 <2')).toBe(plain);
  });

  it('the planner plans both java streams from their own releases: tags 21…, 25…, 21, 25, and latest on 25', async () => {
    const recipe = await javaRecipe();
    const byKey: Record<string, UpstreamRelease[]> = {
      java: [release('21.0.9+10-1~deb13u1'), release('21.0.8+9-1')],
      'java#25': [release('25.0.1+8-1~deb13u1')],
    };
    const asked: string[] = [];
    const resolvedFor: string[] = [];
    const plans = await planRecipes({
      recipes: [{ file: java, recipe }],
      releases: releasesFor((key) => {
        asked.push(key);
        return byKey[key] ?? [];
      }),
      published: publishedStateOf({}),
      now: new Date('2026-01-01T00:00:00Z'),
      resolve: async (loaded, version) => {
        resolvedFor.push(
          `${version} ${loaded.recipe.upstream.debian?.package ?? ''} ${loaded.recipe.build.contents?.packages.at(-1) ?? ''}`,
        );
        return {};
      },
    });
    expect(asked.sort()).toEqual(['java', 'java#25']);
    const decisions = plans[0]?.decisions ?? [];
    expect(decisions.map((d) => [d.stream, d.kind, 'tags' in d ? d.tags : []])).toEqual([
      ['21', 'build', ['21.0.9_10-1_deb13u1-r0', '21.0.9_10-1_deb13u1', '21.0.9', '21.0', '21']],
      [
        '25',
        'build',
        ['25.0.1_8-1_deb13u1-r0', '25.0.1_8-1_deb13u1', '25.0.1', '25.0', '25', 'latest'],
      ],
    ]);
    expect(resolvedFor).toEqual([
      '21.0.9+10-1~deb13u1 openjdk-21-jre-headless openjdk-21-jre-headless',
      '25.0.1+8-1~deb13u1 openjdk-25-jre-headless openjdk-25-jre-headless',
    ]);
    // The streams' inputs digests are of their own contents.
    const [d21, d25] = decisions;
    if (d21?.kind !== 'build' || d25?.kind !== 'build') throw new Error('expected builds');
    expect(d21.request.stream).toBe('21');
    expect(d25.request.stream).toBe('25');
    expect(d21.request.inputsDigest).not.toBe(d25.request.inputsDigest);
  });
});
