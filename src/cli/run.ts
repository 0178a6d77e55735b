import path from 'node:path';
import type { Command } from 'commander';
import type { Config } from '../config.ts';
import type { Logger } from '../log.ts';
import { createPipelineContext } from '../pipeline/context.ts';
import { withLocalDefaults } from '../run/local-defaults.ts';
import { waitForPlans, verifyPublished, type OnceOutcome } from '../run/once.ts';
import { exitOnSignals } from '../run/shutdown.ts';
import {
  loadRecipesLogged,
  planAndEnqueue,
  recipePaths,
  startApi,
  startPipelineWorkers,
  startPlanningWatcher,
} from '../run/up.ts';
import { configuredBuilders } from '../run/builders.ts';
import { releasesOnce } from '../watch/releases-once.ts';
import { CliExit, cliContext, ExitCode } from './context.ts';

interface UpFlags {
  once?: boolean;
  verify?: boolean;
  api?: boolean;
}

export function registerRun(program: Command): void {
  program
    .command('up')
    .argument('[recipes...]', 'with --once: recipe names or files (default: every recipe)')
    .option('--once', 'plan once, build and publish what is due, wait for it, then exit')
    .option('--verify', 'with --once: verify every published image (kiln verify, skopeo inspect)')
    .option('--no-api', 'do not serve the HTTP API')
    .description('watcher, workers and API in one process (the single-machine default)')
    .action(async (recipes: string[], flags: UpFlags) => {
      const { config, log } = cliContext();
      await (flags.once ? upOnce(config, log, recipes, flags) : upForever(config, log, flags));
    });

  program
    .command('worker')
    .option('--queue <name>', 'serve only the build or the publish queue')
    .description('build and publish workers alone, for a fleet sharing one Redis')
    .action(async (flags: { queue?: string }) => {
      const { config, log } = cliContext();
      requireShared(config, 'worker');
      if (flags.queue && flags.queue !== 'build' && flags.queue !== 'publish') {
        throw new CliExit(
          `kiln worker: --queue is build or publish, not ${flags.queue}`,
          ExitCode.usage,
        );
      }
      const ctx = await createPipelineContext(config, log);
      const queue: ('build' | 'publish')[] | undefined =
        flags.queue === 'build' || flags.queue === 'publish' ? [flags.queue] : undefined;
      const workers = startPipelineWorkers(ctx, queue);
      log.info(
        { concurrency: config.concurrency, queues: queue ?? ['build', 'publish'] },
        'worker started',
      );
      exitOnSignals(log, [() => workers.drain(), () => ctx.close()]);
    });

  program
    .command('watch')
    .description('the watcher alone: polls upstreams, takes webhooks, plans and enqueues')
    .action(async () => {
      const { config, log } = cliContext();
      requireShared(config, 'watch');
      const ctx = await createPipelineContext(config, log);
      const watcher = startPlanningWatcher(ctx, config.recipesDir);
      const api = await startApi(ctx, watcher);
      exitOnSignals(log, [() => watcher.stop(), () => api.close(), () => ctx.close()]);
    });

  program
    .command('serve')
    .description('the HTTP API, catalog and dashboard alone')
    .action(async () => {
      const { config, log } = cliContext();
      requireShared(config, 'serve');
      const ctx = await createPipelineContext({ ...config, allowUnsigned: true }, log);
      const api = await startApi(ctx);
      exitOnSignals(log, [() => api.close(), () => ctx.close()]);
    });
}

/** Fleet commands share one Redis and registry: they never start their own. */
function requireShared(config: Config, command: string): void {
  const missing = [
    !config.redisUrl && 'KILN_REDIS_URL',
    !config.registry && 'KILN_REGISTRY',
  ].filter(Boolean);
  if (missing.length > 0) {
    throw new CliExit(
      `kiln ${command}: set ${missing.join(' and ')} (only kiln up starts its own)`,
      ExitCode.usage,
    );
  }
}

async function upForever(config: Config, log: Logger, flags: UpFlags): Promise<void> {
  const local = await withLocalDefaults(config, log);
  const ctx = await createPipelineContext(local.config, log);
  const workers = startPipelineWorkers(ctx);
  const watcher = startPlanningWatcher(ctx, local.config.recipesDir);
  const api = flags.api === false ? undefined : await startApi(ctx, watcher);
  log.info({ registry: local.config.registry, recipes: local.config.recipesDir }, 'kiln is up');
  exitOnSignals(log, [
    () => watcher.stop(),
    () => workers.drain(),
    async () => api?.close(),
    () => ctx.close(),
    () => local.stop(),
  ]);
}

async function upOnce(config: Config, log: Logger, names: string[], flags: UpFlags): Promise<void> {
  const local = await withLocalDefaults(config, log);
  const cfg = local.config;
  const ctx = await createPipelineContext(cfg, log);
  const workers = startPipelineWorkers(ctx);
  let failed = false;
  try {
    const recipes = await loadRecipesLogged(recipePaths(cfg, names), log);
    if (recipes.length === 0)
      throw new CliExit('kiln up --once: no recipe to build', ExitCode.failure);
    const cycle = await planAndEnqueue(
      ctx,
      recipes,
      await releasesOnce(ctx, recipes),
      configuredBuilders(cfg),
    );
    const outcomes = await waitForPlans(cfg, cycle, cfg.registry ?? '');
    printOutcomes(outcomes);
    failed = outcomes.some((o) => o.outcome === 'failed');
    if (flags.verify) {
      const publicKey = cfg.signingKey?.replace(/\.key$/, '.pub') ?? '';
      const checks = await verifyPublished(ctx, outcomes, publicKey, log);
      for (const c of checks)
        process.stdout.write(
          `${c.ok ? 'verified' : 'NOT VERIFIED'}  ${c.reference}\n  ${c.detail}\n`,
        );
      if (checks.some((c) => !c.ok)) failed = true;
      if (checks.length > 0) {
        // Only a registry kiln started for this run stops with it; KILN_REGISTRY's stays up.
        const how = config.registry
          ? 'To pull and verify by hand:'
          : 'The registry stops with this run. To pull and verify by hand, keep kiln running (node bin/kiln.js up) and:';
        process.stdout.write(
          `\n${how}\n` +
            `  node bin/kiln.js verify ${checks[0]?.reference} --key ${path.relative(process.cwd(), publicKey)}\n`,
        );
      }
    }
  } finally {
    await workers.drain();
    await ctx.close();
    await local.stop();
  }
  if (failed)
    throw new CliExit(
      'kiln up --once: some images were not published (see above)',
      ExitCode.failure,
    );
}

function printOutcomes(outcomes: readonly OnceOutcome[]): void {
  const rows = outcomes.map((o) => [o.recipe, o.stream, o.outcome, o.detail]);
  const widths = [0, 1, 2].map((i) => Math.max(...rows.map((r) => (r[i] ?? '').length), 6));
  for (const r of [['RECIPE', 'STREAM', 'OUTCOME', 'DETAIL'], ...rows]) {
    process.stdout.write(`${r.map((c, i) => (i < 3 ? c.padEnd(widths[i] ?? 0) : c)).join('  ')}\n`);
  }
}
