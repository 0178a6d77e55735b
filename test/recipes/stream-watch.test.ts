import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { createLogger } from '../../src/log.ts';
import { planRecipes } from '../../src/plan/plan-recipes.ts';
import { publishedStateOf } from '../../src/plan/published-state.ts';
import { parseRecipeSource } from '../../src/recipe/load.ts';
import { releasesOnce } from '../../src/watch/releases-once.ts';
import { createWatcher } from '../../src/watch/watcher.ts';
import { startLocalNpm, type LocalNpm } from '../servers/npm.ts';
import { uniqueName } from '../helpers/stack.ts';

/*
 * A stream with an upstream of its own (src/recipe/streams.ts), through the real watcher and a
 * local npm registry: the watcher checks both packages (`tool` and `tool#2`), and the planner
 * selects each stream from its own package's versions, as `kiln plan` and `kiln build` do.
 */

const quiet = createLogger({ level: process.env.KILN_TEST_LOG ?? 'silent' });

const source = [
  'name: tool',
  'description: a tool in two lines, each its own npm package',
  'license: MIT',
  'upstream: { npm: tool-one }',
  'versions:',
  '  streams:',
  "    - { name: '1', range: '>=1.0.0 <2.0.0' }",
  "    - { name: '2', range: '>=2.0.0 <3.0.0', upstream: { npm: tool-two } }",
  'build: { builder: dockerfile }',
].join('\n');

describe('a stream with its own upstream, through the watcher', () => {
  let npm: LocalNpm;
  beforeAll(async () => {
    npm = await startLocalNpm();
    // tool-one also has a 2.x: only tool-two's versions may reach stream 2.
    npm.packages.set('tool-one', {
      name: 'tool-one',
      versions: [
        { version: '1.4.0', time: '2025-01-01T00:00:00.000Z' },
        { version: '2.9.0', time: '2025-01-02T00:00:00.000Z' },
      ],
    });
    npm.packages.set('tool-two', {
      name: 'tool-two',
      versions: [{ version: '2.1.0', time: '2025-01-03T00:00:00.000Z' }],
    });
  });
  afterAll(async () => {
    await npm?.close();
  });

  it('checks each upstream under its key, and plans each stream from its own releases', async () => {
    const parsed = parseRecipeSource(source, '/recipes/tool.yaml');
    expect(parsed.problems).toEqual([]);
    if (!parsed.recipe) throw new Error('no recipe');
    const loaded = { file: '/recipes/tool.yaml', recipe: parsed.recipe };
    const config = loadConfig({ KILN_QUEUE_PREFIX: uniqueName('streams'), KILN_NPM_REGISTRY: npm.url });

    const watcher = createWatcher({ config, log: quiet, recipes: () => [loaded], onReleases: () => {} });
    const outcomes = await watcher.checkAll();
    await watcher.stop();
    expect([...outcomes.keys()].sort()).toEqual(['tool', 'tool#2']);
    expect(npm.hits.get('/tool-two')).toBeGreaterThan(0);

    const releases = await releasesOnce({ config, log: quiet }, [loaded]);
    const [plan] = await planRecipes({
      recipes: [loaded],
      releases,
      published: publishedStateOf({}),
      now: new Date('2026-01-01T00:00:00Z'),
    });
    expect(plan?.decisions.map((d) => [d.stream, d.kind, d.candidate])).toEqual([
      ['1', 'build', '1.4.0'],
      ['2', 'build', '2.1.0'],
    ]);
    const latest = plan?.decisions.find((d) => 'tags' in d && d.tags.includes('latest'));
    expect(latest?.stream).toBe('2');
  });
});
