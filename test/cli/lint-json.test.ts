import { readFile } from 'node:fs/promises';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';

describe('kiln lint --json', () => {
  it('prints every problem with its position and text, the valid recipes, and still exits 1', async () => {
    const run = await execa(
      'node',
      ['bin/kiln.js', 'lint', '--json', 'test/recipes/valid', 'test/recipes/broken'],
      {
        reject: false,
      },
    );
    expect(run.exitCode).toBe(1);
    const report = JSON.parse(run.stdout) as {
      valid: { name: string }[];
      problems: { line: number; col: number; text: string }[];
    };
    const expected = (await readFile('test/recipes/expected.txt', 'utf8'))
      .split('\n')
      .filter(Boolean);
    expect(report.problems.map((p) => p.text)).toEqual(expected);
    expect(report.problems.every((p) => p.line > 0 && p.col > 0)).toBe(true);
    expect(report.valid.map((v) => v.name).sort()).toEqual(['calendar-tool', 'sample-tool']);
  });
});
