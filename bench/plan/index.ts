import { performance } from 'node:perf_hooks';
import { parseDocument } from 'yaml';
import { planRecipe } from '../../src/plan/decide.ts';
import { inputsDigest } from '../../src/plan/inputs-digest.ts';
import { publishedStateOf, type PublishedImage } from '../../src/plan/published-state.ts';
import { collect, parseRecipeSource } from '../../src/recipe/load.ts';
import { selectVersions } from '../../src/versioning/select.ts';
import { generateRecipes } from './generate.ts';

/*
 * How long lint and plan take for 10,000 recipes against cached upstream data, beside the time
 * to merely parse the same YAML. Each phase runs three times; the median is reported.
 * Memory: heap growth while the phase's results are alive, and the process's peak RSS.
 */

const count = Number(process.env['BENCH_PLAN_RECIPES'] ?? 10_000);
const now = new Date('2025-06-01T00:00:00Z');
const recipes = generateRecipes(count, now);
const releasesByName = new Map(recipes.map((r) => [r.name, r.releases]));
// A third of the recipes already have their current version published (with other inputs).
const published = publishedStateOf(
  Object.fromEntries(
    recipes
      .filter((_, i) => i % 3 === 0)
      .map((r): [string, PublishedImage[]] => [
        r.name,
        [
          {
            version: '1.0.0',
            epoch: 0,
            inputsDigest: 'sha256:old',
            tags: [],
            digest: `sha256:${'0'.repeat(64)}`,
          },
        ],
      ]),
  ),
);

function gc(): void {
  const collect = (globalThis as { gc?: () => void }).gc;
  if (collect) collect();
}

interface Measure {
  ms: number;
  heapMb: number;
  out: unknown;
  /** How many runs the median is taken from. */
  runs: number;
}

// Up to three runs per phase, fewer when a phase is slow (the whole bench stays within minutes).
const phaseBudgetMs = 60_000;

function measure(run: () => unknown): Measure {
  const results: Measure[] = [];
  const started = performance.now();
  while (
    results.length < 3 &&
    (results.length === 0 || performance.now() - started < phaseBudgetMs)
  ) {
    gc();
    const before = process.memoryUsage().heapUsed;
    const start = performance.now();
    const out = run();
    const ms = performance.now() - start;
    const heapMb = (process.memoryUsage().heapUsed - before) / 1024 / 1024;
    results.push({ ms, heapMb, out, runs: 0 });
  }
  results.sort((a, b) => a.ms - b.ms);
  const median = results[Math.floor((results.length - 1) / 2)];
  if (!median) throw new Error('no measurement');
  return { ...median, runs: results.length };
}

const parseOnly = measure(() => recipes.map((r) => parseDocument(r.text).toJS()));

let valid = 0;
const lint = measure(() => {
  const parsed = recipes.map((r) => ({
    file: `/recipes/${r.name}.yaml`,
    ...parseRecipeSource(r.text, `/recipes/${r.name}.yaml`),
  }));
  const result = collect(parsed);
  valid = result.recipes.length;
  if (result.problems.length > 0)
    throw new Error(`generated recipes should be valid: ${result.problems[0]?.message}`);
  return result;
});
const loaded = collect(
  recipes.map((r) => ({
    file: `/recipes/${r.name}.yaml`,
    ...parseRecipeSource(r.text, `/recipes/${r.name}.yaml`),
  })),
).recipes;

let builds = 0;
let decisions = 0;
const plan = measure(() => {
  builds = 0;
  decisions = 0;
  return loaded.map((l) => {
    const { recipe } = l;
    const selection = selectVersions(
      releasesByName.get(recipe.name) ?? [],
      { versions: recipe.versions, upstream: recipe.upstream },
      now,
    );
    const ds = planRecipe({
      loaded: l,
      selection,
      published: published.images(recipe.name),
      now,
      digestOf: (_s, c) =>
        inputsDigest({
          recipe,
          version: c.version,
          artifacts: c.release.checksums,
          builderVersion: 'dockerfile/1',
        }),
    });
    decisions += ds.length;
    builds += ds.filter((d) => d.kind === 'build').length;
    return ds;
  });
});

const rssMb = process.resourceUsage().maxRSS / 1024;
const row = (what: string, m: Measure, note: string): string =>
  `| ${what} | ${m.ms.toFixed(0)} | ${(m.ms / parseOnly.ms).toFixed(2)}× | ${m.heapMb.toFixed(0)} | ${[m.runs > 0 ? `${m.runs} runs` : '', note].filter(Boolean).join('; ')} |`;

process.stdout.write(
  [
    `## kiln plan benchmark: ${count.toLocaleString('en')} generated recipes, 60 cached releases each`,
    '',
    '| phase | time (ms, median) | vs bare YAML parse | heap growth (MB) | notes |',
    '| --- | ---: | ---: | ---: | --- |',
    row(
      'baseline: bare YAML parse (`yaml` parseDocument + toJS)',
      parseOnly,
      'no positions, no validation',
    ),
    row(
      'lint: YAML with positions + zod schema + semantic checks + duplicates',
      lint,
      `${valid} valid`,
    ),
    row(
      'plan: select versions, inputs digest, epoch, tags, decision',
      plan,
      `${decisions} decisions, ${builds} builds`,
    ),
    row(
      'lint + plan',
      { ms: lint.ms + plan.ms, heapMb: lint.heapMb + plan.heapMb, out: undefined, runs: 0 },
      '',
    ),
    '',
    `Planning (after lint) adds ${(plan.ms / parseOnly.ms).toFixed(2)}× the bare parse time (goal: < 2×); lint + plan together take ${((lint.ms + plan.ms) / parseOnly.ms).toFixed(2)}× it.`,
    `Peak RSS of the whole run: ${rssMb.toFixed(0)} MB.${(globalThis as { gc?: unknown }).gc ? '' : ' (Run with node --expose-gc for steadier heap figures.)'}`,
    '',
  ].join('\n'),
);
