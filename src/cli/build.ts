import path from 'node:path';
import type { Command } from 'commander';
import { describeError } from '../errors.ts';
import { emptyPublishedState } from '../plan/published-state.ts';
import { localJob, runBuild } from '../pipeline/build-job.ts';
import { chooseBuild } from '../run/build-local.ts';
import { configuredBuilders } from '../run/builders.ts';
import { loadRecipesLogged, recipePaths } from '../run/recipe-args.ts';
import { releasesOnce } from '../watch/releases-once.ts';
import type { LoadedRecipe } from '../recipe/load.ts';
import { declaredVariants, variantRecipeName } from '../recipe/variants.ts';
import { createProgress } from './progress.ts';
import { printJson } from './table.ts';
import { CliExit, cliContext, ExitCode } from './context.ts';

interface BuildFlags {
  version?: string;
  variant?: string;
  arch?: string;
  out?: string;
  push?: boolean;
  json?: boolean;
}

/** What only `kiln build --push` needs, loaded on demand. */
async function publishModules() {
  const [context, publishJob, published] = await Promise.all([
    import('../pipeline/context.ts'),
    import('../pipeline/publish-job.ts'),
    import('../plan/registry-published.ts'),
  ]);
  return {
    createPublishContext: context.createPublishContext,
    runPublishJob: publishJob.runPublishJob,
    registryPublishedState: published.registryPublishedState,
  };
}

export function registerBuild(program: Command): void {
  program
    .command('build')
    .argument('<recipe>', 'recipe file, or a name under the recipes folder')
    .option('--version <version>', 'upstream version (default: the newest the recipe tracks)')
    .option('--variant <name>', "build one of the recipe's variants (e.g. dev: <recipe>-dev)")
    .option('--arch <archs>', "comma-separated archs (default: the recipe's)")
    .option('--out <dir>', 'where to write the OCI layout (default: out/<recipe>)')
    .option('--push', 'publish to KILN_REGISTRY: push, sign, attest, then tag')
    .option('--json', 'print the result as JSON')
    .description('build one recipe without the queue')
    .action(buildCommand);
}

type Context = ReturnType<typeof cliContext>;
type Publishing = Awaited<ReturnType<typeof publishModules>>;
type PublishContext = Awaited<ReturnType<Publishing['createPublishContext']>>;
type Progress = ReturnType<typeof createProgress>;
type Choice = Awaited<ReturnType<typeof chooseBuild>>;
type Request = Extract<Choice, { kind: 'build' }>['request'];

/** `kiln build`, as its phases: load → plan → build and test → publish (with --push) → print. */
async function buildCommand(recipeArg: string, flags: BuildFlags): Promise<void> {
  const { config, log } = cliContext({ interactive: true });
  if (flags.push && !config.registry)
    throw new CliExit(
      'kiln build --push: set KILN_REGISTRY (e.g. 127.0.0.1:5000/kiln)',
      ExitCode.usage,
    );
  const loaded = await loadTarget({ config, log }, recipeArg, flags.variant);
  const progress = createProgress({ stages: flags.push ? 4 : 3, quiet: flags.json === true });
  // The publishing side (queue, registry, signing) loads only with --push: most of a local
  // build's start-up otherwise.
  const publishing = flags.push ? await publishModules() : undefined;
  const ctx = publishing ? await publishing.createPublishContext(config, log) : undefined;
  const controller = new AbortController();
  process.once('SIGINT', () => controller.abort(new Error('interrupted')));
  try {
    progress.stage('plan');
    const choice = await plan({ config, log }, loaded, flags, publishing, ctx);
    if (choice.kind !== 'build') return reportNoBuild(loaded, choice, progress, flags);
    const request = choice.request;
    progress.done(`${request.version}-r${request.epoch} (${request.reason})`);
    const outDir = flags.out ?? path.join('out', loaded.recipe.name);
    const built = await buildAndTest({ config, log }, request, outDir, progress, controller, ctx);
    let published;
    if (ctx && publishing) {
      progress.stage('publish');
      published = await publishing.runPublishJob(ctx, { request }, built.pushed, built.job);
      progress.done(`${config.registry}/${request.repository}@${published.digest}`);
    }
    printResult(config.registry, request, built.output, published, flags.json === true);
  } catch (error) {
    progress.fail(describeError(error));
    throw error;
  } finally {
    await ctx?.close();
  }
}

/** The recipe (or its `--variant`) from a file or name, with a builder configured for it. */
async function loadTarget(
  { config, log }: Context,
  recipeArg: string,
  variant: string | undefined,
): Promise<LoadedRecipe> {
  const family = await loadRecipesLogged(recipePaths(config, [recipeArg]), log);
  if (!family[0])
    throw new CliExit(
      `kiln build: ${recipeArg} is not a loadable recipe (run kiln lint on it)`,
      ExitCode.failure,
    );
  const loaded = pickVariant(family[0], family, variant);
  if (!configuredBuilders(config).has(loaded.recipe.build.builder))
    throw new CliExit(`kiln build: no builder ${loaded.recipe.build.builder}`, ExitCode.failure);
  return loaded;
}

/** What to build: the version and epoch the planner chooses against what is published. */
async function plan(
  { config, log }: Context,
  loaded: LoadedRecipe,
  flags: BuildFlags,
  publishing: Publishing | undefined,
  ctx: PublishContext | undefined,
): Promise<Choice> {
  const releases = flags.version
    ? async () => []
    : await releasesOnce(ctx ?? { config, log }, [loaded]);
  const published =
    ctx && publishing
      ? await publishing.registryPublishedState(ctx.registry, ctx.namespace, [loaded], log)
      : emptyPublishedState;
  return chooseBuild({
    config,
    log,
    loaded,
    version: flags.version,
    archs: flags.arch
      ?.split(',')
      .map((a) => a.trim())
      .filter(Boolean),
    releases,
    published,
    builders: configuredBuilders(config),
  });
}

/** Up to date, held or an error: said, and an error exits non-zero. */
function reportNoBuild(
  loaded: LoadedRecipe,
  choice: Exclude<Choice, { kind: 'build' }>,
  progress: Progress,
  flags: BuildFlags,
): void {
  progress.done(choice.kind);
  if (flags.json) printJson({ built: false, kind: choice.kind, reason: choice.reason });
  else process.stdout.write(`${loaded.recipe.name}: ${choice.kind}: ${choice.reason}\n`);
  if (choice.kind === 'error') throw new CliExit(`kiln build: ${choice.reason}`, ExitCode.failure);
}

/** The queue's build step, run here: all archs at once, the layout kept, the tests counted. */
async function buildAndTest(
  { config, log }: Context,
  request: Request,
  outDir: string,
  progress: Progress,
  controller: AbortController,
  ctx: PublishContext | undefined,
) {
  progress.stage(`build ${request.archs.join(',')}`);
  const job = localJob({
    log,
    signal: controller.signal,
    onProgress: (p) => p.detail && progress.update(p.percent ?? 0, 100),
  });
  const { output, pushed } = await runBuild(ctx ?? { config }, request, job, {
    archs: request.archs,
    layoutTo: outDir,
    ...(ctx ? { push: ctx } : {}),
  });
  progress.done(output.index.digest);
  progress.stage('test');
  const tests = testsOf(output);
  progress.done(
    `${tests.filter((t) => t.status === 'passed').length} passed, ${tests.filter((t) => t.status === 'skipped').length} skipped`,
  );
  return { output, pushed, job };
}

type Output = Awaited<ReturnType<typeof runBuild>>['output'];

function testsOf(output: Output) {
  return output.archs.flatMap((a) => a.tests.map((t) => ({ arch: a.arch, ...t })));
}

/** The result, as JSON or as text: the layout, the index, each arch, each test, the push. */
function printResult(
  registry: string | undefined,
  request: Request,
  output: Output,
  published: { digest: string; tags: string[] } | undefined,
  json: boolean,
): void {
  const archs = output.archs.map((a) => ({
    arch: a.arch,
    manifest: a.manifest.digest,
    packages: a.packages.length,
    tests: a.tests,
  }));
  if (json) {
    printJson({
      recipe: request.recipe,
      version: request.version,
      epoch: request.epoch,
      inputsDigest: request.inputsDigest,
      layout: output.layoutDir,
      index: output.index.digest,
      archs,
      published,
    });
    return;
  }
  process.stdout.write(
    `${request.recipe} ${request.version}-r${request.epoch}\n  layout  ${output.layoutDir}  (skopeo inspect oci:${output.layoutDir})\n  index   ${output.index.digest}\n`,
  );
  for (const a of archs)
    process.stdout.write(`  ${a.arch.padEnd(7)} ${a.manifest}  ${a.packages} packages\n`);
  for (const t of testsOf(output))
    process.stdout.write(
      `  test ${t.arch} ${t.name}: ${t.status}${t.note ? ` (${t.note})` : ''}\n`,
    );
  if (published)
    process.stdout.write(
      `  pushed  ${registry}/${request.repository}@${published.digest}  tags ${published.tags.join(' ')}\n`,
    );
}

/**
 * The image `kiln build` makes: the recipe's own, or with `--variant <name>` the variant recipe
 * `<recipe>-<name>` (src/recipe/variants.ts) that loading listed after it.
 */
function pickVariant(
  main: LoadedRecipe,
  family: readonly LoadedRecipe[],
  variant: string | undefined,
): LoadedRecipe {
  if (variant === undefined) return main;
  const { recipe } = main;
  const names = [...declaredVariants(recipe).keys()];
  const wanted = variantRecipeName(recipe.name, variant);
  const found = family.find((l) => l.file === main.file && l.recipe.name === wanted);
  if (found) return found;
  throw new CliExit(
    names.length === 0
      ? `kiln build: recipe ${recipe.name} has no variants (--variant ${variant}); add \`variants: [dev]\` to it`
      : `kiln build: recipe ${recipe.name} has no variant ${JSON.stringify(variant)}; its variants: ${names.join(', ')}`,
    ExitCode.usage,
  );
}
