import { cp, mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalNpm, type LocalNpm } from '../../test/servers/npm.ts';
import { loadConfig } from '../config.ts';
import { createLogger } from '../log.ts';
import { publishedStateOf } from '../plan/published-state.ts';
import type { UpstreamRelease } from '../versioning/release.ts';
import { renderPlan, runPlan } from './plan.ts';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const log = createLogger({ level: 'silent' });
const now = new Date('2025-06-01T00:00:00Z');

describe('kiln plan on the shipped recipes', () => {
  // Cached upstream data: what the sources would answer, so the test is hermetic.
  const fixture: Record<string, UpstreamRelease[]> = {
    prettier: [
      { version: '3.5.3', tag: '3.5.3', publishedAt: '2025-03-03T00:00:00Z', prerelease: false },
      { version: '3.6.0', tag: '3.6.0', publishedAt: '2025-05-31T12:00:00Z', prerelease: false },
      {
        version: '4.0.0-alpha.1',
        tag: '4.0.0-alpha.1',
        publishedAt: '2025-01-01T00:00:00Z',
        prerelease: false,
      },
    ],
    python: [
      { version: '3.13.5-2', tag: '3.13.5-2', prerelease: false },
      { version: '3.11.2-6+deb12u6', tag: '3.11.2-6+deb12u6', prerelease: false },
    ],
    static: [{ version: '13.8', tag: '13.8', prerelease: false }],
  };

  it('prints a table and JSON with a decision and a reason per stream; enqueues nothing', async () => {
    const config = loadConfig({ KILN_RECIPES_DIR: path.join(repo, 'recipes') });
    const report = await runPlan(config, log, {
      now,
      resolve: false,
      releases: async (recipe) => fixture[recipe.name] ?? [],
      published: publishedStateOf({
        prettier: [
          {
            version: '3.5.3',
            epoch: 0,
            inputsDigest: 'sha256:old',
            tags: ['3.5.3-r0', '3.5.3', '3.5', '3', 'latest'],
            digest: `sha256:${'a'.repeat(64)}`,
          },
        ],
      }),
    });
    const json: unknown = JSON.parse(JSON.stringify(report));
    expect(json).toMatchObject({ generatedAt: now.toISOString(), problems: [] });
    const decisions = report.recipes.flatMap((r) =>
      r.decisions.map((d) => [r.recipe, d.stream, d.kind, d.candidate]),
    );
    expect(decisions).toEqual(
      expect.arrayContaining([
        ['prettier', 'default', 'build', '3.5.3'],
        ['python', '3.13', 'build', '3.13.5-2'],
        ['python', '3.11', 'build', '3.11.2-6+deb12u6'],
        ['static', 'default', 'build', '13.8'],
      ]),
    );
    const prettier = report.recipes.find((r) => r.recipe === 'prettier')?.decisions[0];
    // 3.6.0 is a day old and the recipe's cooldown is 1d: the published 3.5.3 is rebuilt (its
    // recorded digest differs), and the reason says 3.6.0 is held.
    expect(prettier?.reason).toContain(
      '3.6.0 is held by the 1d cooldown until 2025-06-01T12:00:00.000Z',
    );
    const python = report.recipes.find((r) => r.recipe === 'python')?.decisions;
    expect(python?.map((d) => (d.kind === 'build' ? d.tags : []))).toEqual([
      ['3.13.5-2-r0', '3.13.5-2', '3.13.5', '3.13', '3', 'latest'],
      ['3.11.2-6_deb12u6-r0', '3.11.2-6_deb12u6', '3.11.2', '3.11'],
    ]);
    const table = renderPlan(report);
    expect(table.split('\n')[0]).toMatch(
      /^RECIPE\s+STREAM\s+PUBLISHED\s+CANDIDATE\s+DECISION\s+REASON$/,
    );
    expect(table).toContain('nothing enqueued');
    expect(table).toMatch(/prettier\s+default\s+3\.5\.3-r0\s+3\.5\.3\s+build 3\.5\.3-r1/);
  });

  it('a broken recipe is reported and the others are still planned', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'kiln-plan-'));
    await cp(path.join(repo, 'recipes', 'static.yaml'), path.join(dir, 'static.yaml'));
    await writeFile(path.join(dir, 'broken.yaml'), 'name: broken\n');
    const report = await runPlan(loadConfig({ KILN_RECIPES_DIR: dir }), log, {
      now,
      resolve: false,
      releases: async () => fixture['static'] ?? [],
    });
    expect(report.recipes.map((r) => r.recipe)).toEqual(['static', 'static-dev']);
    expect(report.problems.map((p) => p.message).sort()).toEqual([
      'build: missing required field',
      'description: missing required field',
      'license: missing required field',
      'upstream: missing required field',
    ]);
  });
});

describe('kiln plan against a local npm registry (the real npm source)', () => {
  let npm: LocalNpm;
  beforeAll(async () => {
    npm = await startLocalNpm();
  });
  afterAll(async () => npm.close());

  it('reads releases through src/upstream and plans the newest one past the cooldown', async () => {
    npm.packages.set('prettier', {
      name: 'prettier',
      versions: [
        { version: '3.5.3', time: '2025-03-01T00:00:00.000Z' },
        { version: '3.6.0', time: '2025-05-20T00:00:00.000Z' },
      ],
    });
    const dir = await mkdtemp(path.join(os.tmpdir(), 'kiln-plan-'));
    await cp(path.join(repo, 'recipes', 'prettier.yaml'), path.join(dir, 'prettier.yaml'));
    const report = await runPlan(
      loadConfig({ KILN_RECIPES_DIR: dir, KILN_NPM_REGISTRY: npm.url }),
      log,
      { now, resolve: false },
    );
    const d = report.recipes[0]?.decisions[0];
    expect(d).toMatchObject({
      kind: 'build',
      version: '3.6.0',
      epoch: 0,
      tags: ['3.6.0-r0', '3.6.0', '3.6', '3', 'latest'],
    });
    if (d?.kind !== 'build') throw new Error('expected a build');
    expect(d.request).toMatchObject({
      recipe: 'prettier',
      repository: 'prettier',
      archs: ['amd64', 'arm64'],
      stream: 'default',
      priority: 'upstream',
    });
    expect(d.request.inputsDigest).toMatch(/^sha256:[a-f0-9]{64}$/);
  });
});
