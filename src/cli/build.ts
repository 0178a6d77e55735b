import type { Command } from 'commander';
import { notYet } from './context.ts';

export function registerBuild(program: Command): void {
  program
    .command('build')
    .argument('<recipe>', 'recipe file or name')
    .option('--version <version>', 'upstream version (default: the newest the recipe tracks)')
    .option('--arch <archs>', 'comma-separated archs (default: the recipe\'s)')
    .option('--out <dir>', 'where to write the OCI layout')
    .option('--push', 'publish: push, sign, attest and tag')
    .description('build one recipe without the queue')
    .action(() => notYet('build', 'core issue'));
}
