import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startLocalGithub, type LocalGithub } from '../servers/github/server.ts';
import { newStats } from '../servers/github/state.ts';
import { testRedisUrl, uniqueName } from '../helpers/stack.ts';

/*
 * `kiln plan` as a process over many GitHub recipes against the local GitHub server: it checks
 * them as the watcher does (aliased repository() fields, up to 100 per GraphQL query, a point
 * each), not one request per recipe; and with KILN_REDIS_URL, the REST fallback's validators
 * live in the watcher's Redis cache, so a second run costs free 304s only.
 */

const token = 'ghp_plantesttoken0123456789';

interface PlanJson {
  recipes: { recipe: string; decisions: { kind: string; candidate?: string }[] }[];
  validatorCache: string;
}

async function writeRecipes(dir: string, count: number): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const repos: string[] = [];
  for (let i = 0; i < count; i++) {
    const repo = `org${i % 7}/tool${i}`;
    repos.push(repo);
    await writeFile(
      path.join(dir, `tool${i}.yaml`),
      `name: tool${i}\ndescription: plan test\nlicense: MIT\nupstream:\n  github: ${repo}\nbuild:\n  builder: dockerfile\n  dockerfile: {}\n`,
    );
  }
  return repos;
}

describe('kiln plan over GitHub recipes', () => {
  let gh: LocalGithub;
  const dirs: string[] = [];
  beforeEach(async () => {
    gh = await startLocalGithub({ tokens: [token] });
  });
  afterEach(async () => gh.close());
  afterAll(async () => {
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  const plan = async (work: string, env: Record<string, string>) => {
    const inherited = Object.fromEntries(
      Object.entries(process.env).filter(([k]) => !k.startsWith('KILN_') && k !== 'GITHUB_TOKEN'),
    );
    const run = await execa('node', ['bin/kiln.js', 'plan', '--json', '--no-resolve'], {
      env: {
        ...inherited,
        KILN_RECIPES_DIR: path.join(work, 'recipes'),
        KILN_STATE_DIR: path.join(work, 'state'),
        KILN_GITHUB_API_URL: gh.apiUrl,
        KILN_LOG_LEVEL: 'warn',
        ...env,
      },
      extendEnv: false,
      reject: false,
      timeout: 300_000,
    });
    expect(run.exitCode, run.stderr).toBe(0);
    return JSON.parse(run.stdout) as PlanJson;
  };

  it('checks 250 recipes in ceil(250/100) GraphQL queries for as many points, not 250', async () => {
    const work = await mkdtemp(path.join(os.tmpdir(), 'kiln-plan-gh-'));
    dirs.push(work);
    const repos = await writeRecipes(path.join(work, 'recipes'), 250);
    for (const r of repos) gh.state.addRepo(r, { releases: 3 });
    gh.state.publish('org3/tool3', 'v2.0.0', { at: new Date('2024-06-01T00:00:00Z') });

    const report = await plan(work, { GITHUB_TOKEN: token });
    expect(report.recipes).toHaveLength(250);
    const decisions = report.recipes.map((r) => [r.recipe, r.decisions[0]?.kind]);
    expect(decisions.every(([, kind]) => kind === 'build')).toBe(true);
    const candidate = (name: string) =>
      report.recipes.find((r) => r.recipe === name)?.decisions[0]?.candidate;
    expect(candidate('tool0')).toBe('1.2.0');
    expect(candidate('tool3')).toBe('2.0.0');
    expect(gh.state.stats).toMatchObject({
      graphqlRequests: 3,
      graphqlPoints: 3,
      restRequests: 0,
    });
    expect(gh.state.stats.batchSizes).toEqual([100, 100, 50]);
  }, 300_000);

  it('with KILN_REDIS_URL, a second run reuses the watcher’s validators: every repository a free 304', async () => {
    const work = await mkdtemp(path.join(os.tmpdir(), 'kiln-plan-gh-'));
    dirs.push(work);
    const repos = await writeRecipes(path.join(work, 'recipes'), 20);
    for (const r of repos) gh.state.addRepo(r, { releases: 3 });
    // No token: the REST path, whose ETags are what the validator cache keeps.
    const env = { KILN_REDIS_URL: testRedisUrl(), KILN_QUEUE_PREFIX: uniqueName('plan-gh') };

    const first = await plan(work, env);
    expect(first.validatorCache).toMatch(/^Redis/);
    expect(gh.state.stats).toMatchObject({ restRequests: 20, restPoints: 20, notModified: 0 });

    gh.state.stats = newStats();
    const second = await plan(work, env);
    expect(second.recipes.map((r) => r.decisions[0]?.candidate)).toEqual(
      first.recipes.map((r) => r.decisions[0]?.candidate),
    );
    expect(gh.state.stats).toMatchObject({ restRequests: 20, restPoints: 0, notModified: 20 });
  }, 300_000);

  it('kiln lint --upstream checks the same way: 120 recipes in 2 GraphQL queries', async () => {
    const work = await mkdtemp(path.join(os.tmpdir(), 'kiln-plan-gh-'));
    dirs.push(work);
    const recipes = path.join(work, 'recipes');
    const repos = await writeRecipes(recipes, 120);
    for (const r of repos) gh.state.addRepo(r, { releases: 3 });
    await writeFile(
      path.join(recipes, 'tool5.yaml'),
      `name: tool5\ndescription: plan test\nlicense: MIT\nupstream:\n  github: ${repos[5] ?? ''}\nversions:\n  streams: ['1.x', '9.x']\nbuild:\n  builder: dockerfile\n  dockerfile: {}\n`,
    );
    const run = await execa('node', ['bin/kiln.js', 'lint', '--upstream', recipes], {
      env: {
        ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('KILN_'))),
        GITHUB_TOKEN: token,
        KILN_GITHUB_API_URL: gh.apiUrl,
        KILN_STATE_DIR: path.join(work, 'state'),
        KILN_LOG_LEVEL: 'warn',
      },
      extendEnv: false,
      reject: false,
      timeout: 300_000,
    });
    expect(run.exitCode, run.stderr).toBe(1);
    expect(run.stdout.trim().split('\n')).toEqual([
      expect.stringMatching(
        /tool5\.yaml:\d+:\d+: versions\.streams\[1\]: no released version matches "9\.x"$/,
      ),
    ]);
    expect(gh.state.stats).toMatchObject({ graphqlRequests: 2, restRequests: 0 });
    expect(gh.state.stats.batchSizes).toEqual([100, 20]);
  }, 300_000);
});
