import type { Command } from 'commander';
import { notYet } from './context.ts';

export function registerRun(program: Command): void {
  program.command('up').description('watcher, workers and API in one process').action(() => notYet('up', 'core issue'));
  program.command('watch').description('the watcher alone').action(() => notYet('watch', 'core issue'));
  program.command('worker').description('build and publish workers alone').action(() => notYet('worker', 'core issue'));
  program.command('serve').description('the HTTP API alone').action(() => notYet('serve', 'core issue'));
}
