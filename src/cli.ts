import { Command, CommanderError } from 'commander';
import {
  readCommandTable,
  registerAllCommands,
  registerCommandFor,
  registerSummaries,
} from './cli/commands.ts';

const program = new Command('kiln')
  .description('Continuous rebuilds of minimal, signed, evergreen container images')
  .version('0.1.0')
  // kiln's own -V/--version only before the command: `kiln build --version 1.2` is the build's.
  .enablePositionalOptions()
  .showHelpAfterError()
  .exitOverride();

// A named command loads its module alone. Help, --version and unknown commands need every
// command's summary: a build ships them as a table, the sources register every command.
if (!(await registerCommandFor(program, process.argv))) {
  const table = readCommandTable(new URL('./commands.json', import.meta.url));
  if (table) registerSummaries(program, table);
  else await registerAllCommands(program);
}

try {
  await program.parseAsync(process.argv);
} catch (error) {
  process.exitCode = await exitCodeFor(error);
}

/**
 * Reports a failed command on stderr, masked, and says how to exit. Help (a CommanderError with
 * code 0) returns before anything is imported: config and logging are not part of `kiln --help`.
 */
async function exitCodeFor(error: unknown): Promise<number> {
  if (error instanceof CommanderError && error.exitCode === 0) return 0;
  const [{ CliExit, ExitCode }, { maskSecrets }, { describeError }] = await Promise.all([
    import('./cli/context.ts'),
    import('./log.ts'),
    import('./errors.ts'),
  ]);
  if (error instanceof CommanderError) return ExitCode.usage;
  if (error instanceof CliExit) {
    process.stderr.write(`${maskSecrets(error.message)}\n`);
    return error.code;
  }
  process.stderr.write(`kiln: ${maskSecrets(describeError(error))}\n`);
  return ExitCode.failure;
}
