import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { lintPaths } from '../../src/recipe/lint.ts';
import { formatProblem } from '../../src/recipe/problem.ts';

/*
 * The broken-recipe corpus: every file under broken/ yields exactly the lines expected.txt lists
 * for it (`file:line:col: message`, paths relative to the repository), all in one run, while
 * the recipes under valid/ and the shipped recipes/ still load.
 */

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '../..');
const broken = path.join(here, 'broken');
const valid = path.join(here, 'valid');

async function expected(): Promise<string[]> {
  return (await readFile(path.join(here, 'expected.txt'), 'utf8')).split('\n').filter(Boolean);
}

describe('broken recipe corpus', () => {
  it('has at least 40 broken recipes, each with an expected problem', async () => {
    const files = (await readdir(broken)).filter((f) => f.endsWith('.yaml'));
    expect(files.length).toBeGreaterThanOrEqual(40);
    const lines = await expected();
    const withoutExpectation = files.filter((f) => !lines.some((l) => l.startsWith(`test/recipes/broken/${f}:`)));
    expect(withoutExpectation).toEqual([]);
  });

  it('reports every problem of every file in one run, and the valid recipes still load', async () => {
    const { recipes, problems } = await lintPaths([valid, broken]);
    expect(problems.map((p) => formatProblem(p, { relativeTo: repo }))).toEqual(await expected());
    expect(recipes.map((r) => r.recipe.name).sort()).toEqual(['calendar-tool', 'sample-tool']);
  });

  it('each broken file on its own gives the same lines (no problem depends on its neighbours)', async () => {
    const lines = await expected();
    const files = (await readdir(broken)).filter((f) => f.endsWith('.yaml') && f !== 'duplicate-name.yaml');
    for (const f of files) {
      const { problems } = await lintPaths([path.join(broken, f)]);
      const mine = lines.filter((l) => l.startsWith(`test/recipes/broken/${f}:`));
      expect(problems.map((p) => formatProblem(p, { relativeTo: repo })), f).toEqual(mine);
    }
  });

  it('the shipped recipes are valid', async () => {
    const { recipes, problems } = await lintPaths([path.join(repo, 'recipes')]);
    expect(problems.map((p) => formatProblem(p, { relativeTo: repo }))).toEqual([]);
    expect(recipes.map((r) => r.recipe.name)).toEqual(expect.arrayContaining(['prettier', 'python', 'static']));
    const python = recipes.find((r) => r.recipe.name === 'python');
    expect(python?.recipe.versions.streams?.length).toBe(2);
  });

  it('`kiln lint` prints the problems and exits 1', async () => {
    const cli = path.join(repo, 'src/cli.ts');
    const bad = await execa('npx', ['tsx', cli, 'lint', 'test/recipes/valid', 'test/recipes/broken'], { cwd: repo, reject: false, env: { NO_COLOR: '1' } });
    expect(bad.exitCode).toBe(1);
    expect(bad.stdout.split('\n').filter(Boolean)).toEqual(await expected());
    expect(bad.stderr).toContain(`kiln lint: ${(await expected()).length} problems`);
  });
});
