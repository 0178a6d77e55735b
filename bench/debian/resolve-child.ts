import path from 'node:path';
import { archiveSettingsFromConfig, resolveLockfiles } from '../../src/build/debian/resolve.ts';
import { loadConfig } from '../../src/config.ts';
import { loadRecipeFile } from '../../src/recipe/index.ts';

/*
 * One resolution in its own process, for bench/debian: `resolve-child.ts <recipe.yaml> <version>
 * <arch> [--no-exclude]`. Prints the closure as JSON and what the resolution itself cost inside
 * the process (the rest is Node's and tsx's start-up).
 */

const [file = '', version = '', arch = 'amd64', flag] = process.argv.slice(2);
const loaded = await loadRecipeFile(path.resolve(file));
if (!loaded.recipe) throw new Error(`recipe ${file} does not load`);
const contents = loaded.recipe.build.contents;
if (!contents) throw new Error(`recipe ${file} has no build.contents`);
const recipe = {
  ...loaded.recipe,
  build: {
    ...loaded.recipe.build,
    contents: { ...contents, exclude: flag === '--no-exclude' ? [] : contents.exclude },
  },
};
const cpu = process.cpuUsage();
const start = performance.now();
const rssBefore = process.memoryUsage().rss;
const lock = (
  await resolveLockfiles(recipe, version, [arch], archiveSettingsFromConfig(loadConfig()))
).get(arch);
const used = process.cpuUsage(cpu);
process.stdout.write(
  `${JSON.stringify({
    ms: performance.now() - start,
    cpuMs: (used.user + used.system) / 1000,
    rssBefore,
    peakRss: process.resourceUsage().maxRSS * 1024,
    packages: lock?.packages.map((p) => [p.name, p.version]) ?? [],
    excluded: lock?.excluded ?? [],
  })}\n`,
);
