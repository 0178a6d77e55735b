import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { lintPaths } from './lint.ts';
import { loadRecipeFile, loadRecipes, parseRecipeSource } from './load.ts';
import { formatProblem } from './problem.ts';
import { closest } from './suggest.ts';

const good = (name: string): string =>
  `name: ${name}\ndescription: d\nlicense: MIT\nupstream:\n  npm: ${name}\nbuild:\n  builder: dockerfile\n`;

async function folder(files: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'kiln-recipes-'));
  for (const [name, text] of Object.entries(files)) await writeFile(path.join(dir, name), text);
  return dir;
}

describe('loadRecipes', () => {
  it('loads the good files when one is broken, with defaults applied', async () => {
    const dir = await folder({
      'a.yaml': good('a'),
      'b.yaml': 'name: [',
      'c.yml': good('c'),
      'notes.txt': 'ignored',
    });
    const { recipes, problems } = await loadRecipes([dir]);
    expect(recipes.map((r) => r.recipe.name)).toEqual(['a', 'c']);
    expect(recipes[0]?.file).toBe(path.join(dir, 'a.yaml'));
    expect(recipes[0]?.recipe.versions).toEqual({ scheme: 'semver', prereleases: false });
    expect(recipes[0]?.recipe.build.archs).toEqual(['amd64']);
    expect(problems).toHaveLength(1);
    expect(problems[0]?.file).toBe(path.join(dir, 'b.yaml'));
  });

  it('flags a duplicate name on the later file and leaves it out', async () => {
    const dir = await folder({ 'a.yaml': good('same'), 'b.yaml': `# second\n${good('same')}` });
    const { recipes, problems } = await loadRecipes([dir]);
    expect(recipes.map((r) => r.file)).toEqual([path.join(dir, 'a.yaml')]);
    expect(problems.map((p) => formatProblem(p, { relativeTo: dir }))).toEqual([
      'b.yaml:2:7: name: duplicate recipe name `same` (also in a.yaml)',
    ]);
  });

  it('reports an unreadable file as a problem', async () => {
    const result = await loadRecipeFile('/nonexistent/recipe.yaml');
    expect(result.problems[0]?.message).toBe('cannot read recipe (ENOENT)');
  });

  it('refuses alias bombs', () => {
    const bomb =
      'a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n';
    const parsed = parseRecipeSource(bomb, 'bomb.yaml');
    expect(parsed.recipe).toBeUndefined();
    expect(parsed.problems[0]?.message).toMatch(/^YAML: .*alias/i);
  });
});

describe('lint with upstream data', () => {
  it('flags a patch fixed in the tracked version and a stream no release matches', async () => {
    const text = `${good('tool')}versions:\n  streams: ['1.x', '9.x']\npatches:\n  - file: fix.patch\n    reason: bug\n    until: 1.2.0\n`;
    const dir = await folder({ 'tool.yaml': text });
    const releases = [{ version: '1.3.0', tag: 'v1.3.0', prerelease: false }];
    const { problems } = await lintPaths([dir], {
      releasesOf: () => releases,
      now: new Date('2025-01-01T00:00:00Z'),
    });
    expect(problems.map((p) => formatProblem(p, { relativeTo: dir }))).toEqual([
      'tool.yaml:9:20: versions.streams[1]: no released version matches "9.x"',
    ]);
    const both = await lintPaths([dir], {
      releasesOf: () => [...releases, { version: '9.0.0', tag: 'v9.0.0', prerelease: false }],
    });
    expect(both.problems.map((p) => formatProblem(p, { relativeTo: dir }))).toEqual([
      'tool.yaml:13:12: patches[0].until: upstream fixed this in 1.2.0 and the tracked version is 1.3.0: drop the patch',
    ]);
  });
});

describe('did you mean', () => {
  it.each([
    ['descripton', ['description', 'name'], 'description'],
    ['entrypiont', ['entrypoint', 'cmd'], 'entrypoint'],
    ['run_as', ['run-as', 'users'], 'run-as'],
    ['colour', ['name', 'license'], undefined],
  ])('%s → %s', (word, candidates, expected) => {
    expect(closest(word, candidates)).toBe(expected);
  });
});
