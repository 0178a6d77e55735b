import type { Command } from 'commander';
import { createPublishContext } from '../pipeline/context.ts';
import { rebuildCatalog } from '../run/catalog-restore.ts';
import { readEndpoints } from '../run/local-defaults.ts';
import { formatProblem } from '../recipe/problem.ts';
import { loadRecipes } from '../recipe/load.ts';
import { CliExit, cliContext, ExitCode } from './context.ts';
import { printResult, renderTable } from './table.ts';

interface RebuiltImage {
  image: string;
  version: string;
  digest: string;
  tags: string[];
  signed: boolean;
}

/** `kiln catalog rebuild`: the catalog in Redis derived again from the registry, the source of truth. */
export function registerCatalog(program: Command): void {
  const catalog = program
    .command('catalog')
    .description('the catalog of published images kept in Redis');
  catalog
    .command('rebuild')
    .option('--json', 'print JSON')
    .description("rebuild the catalog in Redis from the registry (every recipe's repository)")
    .action(async (opts: { json?: boolean }) => {
      const { config: loaded, log } = cliContext({ interactive: true });
      // Without KILN_* endpoints, those of a running `kiln up`.
      const endpoints = await readEndpoints(loaded.stateDir);
      const redisUrl = loaded.redisUrl ?? endpoints?.redisUrl;
      const registry = loaded.registry ?? endpoints?.registry;
      if (!redisUrl || !registry) {
        throw new CliExit(
          'kiln catalog rebuild: set KILN_REDIS_URL and KILN_REGISTRY (or run it beside a running kiln up)',
          ExitCode.usage,
        );
      }
      // Reading needs no signing key.
      const config = {
        ...loaded,
        redisUrl,
        registry,
        signingKey: undefined,
        allowUnsigned: true,
      };
      const { recipes, problems } = await loadRecipes([config.recipesDir]);
      for (const p of problems) log.error(`broken recipe left out: ${formatProblem(p)}`);
      if (recipes.length === 0) {
        throw new CliExit(
          `kiln catalog rebuild: no recipe under ${config.recipesDir}`,
          ExitCode.failure,
        );
      }
      const ctx = await createPublishContext(config, log);
      try {
        const { redis } = ctx;
        if (!redis) throw new Error('kiln catalog rebuild: no Redis client');
        const records = await rebuildCatalog({ ...ctx, redis }, recipes);
        const rows: RebuiltImage[] = records.map((r) => ({
          image: r.recipe,
          version: `${r.version}-r${r.epoch}`,
          digest: r.digest,
          tags: r.tags,
          signed: r.signed,
        }));
        printResult(rows, {
          json: opts.json === true,
          human: (list, color) =>
            `${renderTable(
              list,
              [
                { header: 'IMAGE', value: (i) => i.image },
                { header: 'VERSION', value: (i) => i.version },
                { header: 'DIGEST', value: (i) => i.digest },
                { header: 'SIGNED', value: (i) => (i.signed ? 'yes' : 'NO') },
                { header: 'TAGS', value: (i) => i.tags.join(' ') },
              ],
              { color },
            )}${list.length} record(s) from ${recipes.length} recipe(s) written to the catalog\n`,
        });
      } finally {
        await ctx.close();
      }
    });
}
