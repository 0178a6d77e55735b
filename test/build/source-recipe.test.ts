import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { recipeSchema } from '../../src/recipe/schema.ts';

/*
 * The source-built recipe (recipes/dumb-init.yaml) hangs together: a checked upstream file from
 * the configured GitHub, and every FROM either a stage of the same Dockerfile or a kiln-built
 * base. test/build/dumb-init-e2e.test.ts builds, tests, publishes and verifies it for real.
 */
const recipesDir = path.resolve('recipes');

describe('recipes/dumb-init.yaml', async () => {
  const recipe = recipeSchema.parse(
    parse(await readFile(path.join(recipesDir, 'dumb-init.yaml'), 'utf8')),
  );
  const spec = recipe.build.dockerfile;
  const dockerfile = await readFile(path.join(recipesDir, spec?.path ?? ''), 'utf8');

  it('fetches a GitHub release source with a checksum and unpacks it into the context', () => {
    const [source] = recipe.build.files ?? [];
    expect(recipe.upstream.github).toBe('Yelp/dumb-init');
    // From the GitHub the upstream is watched on (KILN_GITHUB_API_URL), never a hard-coded host.
    expect(source?.url).toBe('github:Yelp/dumb-init/archive/v${version}.tar.gz');
    expect(source?.sha256).toMatch(/^[a-f0-9]{64}$/);
    expect(source?.extract).toBe(true);
  });

  it('builds FROM stages or kiln-built bases only, ending on kiln’s static base', async () => {
    const stages = new Set<string>();
    const froms: string[] = [];
    for (const match of dockerfile.matchAll(/^FROM\s+(\S+)(?:\s+AS\s+(\S+))?/gim)) {
      froms.push(match[1] ?? '');
      if (match[2]) stages.add(match[2]);
    }
    const bases = spec?.bases ?? {};
    for (const from of froms) expect(stages.has(from) || from in bases).toBe(true);
    expect(bases).toEqual({ toolchain: 'kiln:c-toolchain', static: 'kiln:static' });
    // Each kiln: base is itself a recipe here, built by the debian builder.
    for (const source of Object.values(bases)) {
      const name = source.slice('kiln:'.length);
      const base = recipeSchema.parse(
        parse(await readFile(path.join(recipesDir, `${name}.yaml`), 'utf8')),
      );
      expect(base.build.builder).toBe('debian');
    }
    expect(froms.at(-1)).toBe('static');
    expect(await stat(path.join(recipesDir, spec?.context ?? ''))).toBeTruthy();
  });
});
