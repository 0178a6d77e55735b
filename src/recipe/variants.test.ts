import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadRecipes, parseRecipeSource } from './load.ts';
import { formatProblem } from './problem.ts';
import { tagSuffix } from './variants.ts';

const debian = (name: string, extra = ''): string =>
  [
    `name: ${name}`,
    'description: d',
    'license: MIT',
    'upstream:',
    '  debian: { package: base-files, suite: trixie }',
    'build:',
    '  builder: debian',
    '  contents:',
    '    suites: [trixie]',
    '    packages: [base-files, tzdata]',
    '    exclude: [debconf, busybox-static, dash]',
    '  accounts:',
    '    run-as: nonroot',
    'test:',
    '  - name: no shell',
    '    run: [/nothing]',
    '  - name: tz',
    '    run: [/nothing, tz]',
    extra,
  ].join('\n');

async function folder(files: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'kiln-variants-'));
  for (const [name, text] of Object.entries(files)) await writeFile(path.join(dir, name), text);
  return dir;
}

function problemsOf(text: string): string[] {
  return parseRecipeSource(text, '/r/x.yaml').problems.map((p) => formatProblem(p));
}

describe('variants', () => {
  it('expands `variants: [dev]` into a second recipe: busybox, root, a shell test, same repository', async () => {
    const dir = await folder({ 'static.yaml': debian('static', 'variants: [dev]') });
    const { recipes, problems } = await loadRecipes([dir]);
    expect(problems).toEqual([]);
    expect(recipes.map((r) => r.recipe.name)).toEqual(['static', 'static-dev']);
    const [main, dev] = recipes.map((r) => r.recipe);
    expect(main?.variant).toBeUndefined();
    expect(main?.build.contents?.packages).toEqual(['base-files', 'tzdata']);
    expect(main?.build.accounts?.['run-as']).toBe('nonroot');
    expect(dev?.variant).toEqual({ name: 'dev', of: 'static' });
    expect(recipes[1]?.file).toBe(path.join(dir, 'static.yaml'));
    expect(dev?.build.contents?.packages).toEqual(['base-files', 'tzdata', 'busybox-static']);
    // The exclude that would remove busybox gives way; the others stay.
    expect(dev?.build.contents?.exclude).toEqual(['debconf', 'dash']);
    expect(dev?.build.accounts?.['run-as']).toBe('root');
    expect(dev?.build.paths).toContainEqual({
      path: '/usr/bin/sh',
      type: 'symlink',
      source: 'busybox',
    });
    expect(dev?.publish.repository).toBe('static');
    expect(dev?.test.map((t) => t.name)).toEqual(['no shell', 'tz', 'dev variant has a shell']);
    expect(dev?.test.at(-1)).toMatchObject({
      run: ['/bin/sh', '-c', 'echo ok'],
      'expect-output': 'ok',
    });
    expect(dev && tagSuffix(dev)).toBe('-dev');
    expect(main && tagSuffix(main)).toBe('');
  });

  it('takes a map: dev with more packages and skipped tests, and a custom variant', async () => {
    const dir = await folder({
      'py.yaml': debian(
        'py',
        [
          'publish: { repository: lang/py }',
          'variants:',
          '  dev: { packages: [curl], skip-tests: [no shell] }',
          '  dash: { packages: [dash], shell: /bin/sh, run-as: 0 }',
        ].join('\n'),
      ),
    });
    const { recipes, problems } = await loadRecipes([dir]);
    expect(problems).toEqual([]);
    expect(recipes.map((r) => r.recipe.name)).toEqual(['py', 'py-dev', 'py-dash']);
    const [, dev, custom] = recipes.map((r) => r.recipe);
    expect(dev?.build.contents?.packages).toEqual([
      'base-files',
      'tzdata',
      'busybox-static',
      'curl',
    ]);
    expect(dev?.test.map((t) => t.name)).toEqual(['tz', 'dev variant has a shell']);
    expect(dev?.publish.repository).toBe('lang/py');
    expect(custom?.build.contents?.packages).toEqual(['base-files', 'tzdata', 'dash']);
    expect(custom?.build.contents?.exclude).toEqual(['debconf', 'busybox-static']);
    expect(custom?.build.paths).toBeUndefined();
    expect(custom?.build.accounts?.['run-as']).toBe(0);
    expect(custom?.test.map((t) => t.name)).toEqual(['no shell', 'tz', 'dash variant has a shell']);
  });

  it('refuses variants of a dockerfile recipe, unknown built-ins, empty custom ones and unknown skipped tests', () => {
    const dockerfile = [
      'name: tool',
      'description: d',
      'license: MIT',
      'upstream: { npm: tool }',
      'build: { builder: dockerfile }',
      'variants: [dev]',
    ].join('\n');
    expect(problemsOf(dockerfile)).toEqual([
      expect.stringMatching(
        /^\/r\/x\.yaml:6:1: variants: only the debian builder makes variants \(this recipe uses dockerfile\); a Dockerfile builds/,
      ),
    ]);
    expect(problemsOf(debian('x', 'variants: [dev, debug, dev]'))).toEqual([
      '/r/x.yaml:19:17: variants[1]: `debug` is not a built-in variant (dev); declare it as a map: variants: { debug: { packages: [...] } }',
      '/r/x.yaml:19:24: variants[2]: `dev` is listed twice (also variants[0])',
    ]);
    expect(
      problemsOf(
        debian('x', 'variants:\n  slim: { run-as: root }\n  dev: { skip-tests: [no-shell] }'),
      ),
    ).toEqual([
      '/r/x.yaml:20:3: variants.slim: a variant other than dev needs `packages` (it would be the same image)',
      '/r/x.yaml:21:23: variants.dev.skip-tests[0]: no test is named "no-shell" (tests: no shell, tz)',
    ]);
    expect(problemsOf(debian('x', 'variants: [r1]'))[0]).toMatch(/variants\[0\]: .*not `r<N>`/);
  });

  it('flags a variant name that another recipe already has', async () => {
    const dir = await folder({
      'a.yaml': debian('static-dev'),
      'b.yaml': debian('static', 'variants: [dev]'),
    });
    const { recipes, problems } = await loadRecipes([dir]);
    expect(recipes.map((r) => r.recipe.name)).toEqual(['static-dev']);
    expect(problems.map((p) => formatProblem(p, { relativeTo: dir }))).toEqual([
      'b.yaml:1:7: name: duplicate variant name `static-dev` (also in a.yaml)',
    ]);
  });
});
