import { Command, CommanderError } from 'commander';
import { describeError } from './errors.ts';
import { maskSecrets } from './log.ts';
import { CliExit, ExitCode } from './cli/context.ts';
import { registerBuild } from './cli/build.ts';
import { registerKeygen } from './cli/keygen.ts';
import { registerLint } from './cli/lint.ts';
import { registerPlan } from './cli/plan.ts';
import { registerRun } from './cli/run.ts';
import { registerStatus } from './cli/status.ts';
import { registerVerify } from './cli/verify.ts';

const program = new Command('kiln')
  .description('Continuous rebuilds of minimal, signed, evergreen container images')
  .version('0.1.0')
  .showHelpAfterError()
  .exitOverride();

registerLint(program);
registerPlan(program);
registerBuild(program);
registerRun(program);
registerVerify(program);
registerKeygen(program);
registerStatus(program);

try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (error instanceof CommanderError) {
    process.exitCode = error.exitCode === 0 ? ExitCode.ok : ExitCode.usage;
  } else if (error instanceof CliExit) {
    process.stderr.write(`${maskSecrets(error.message)}\n`);
    process.exitCode = error.code;
  } else {
    process.stderr.write(`kiln: ${maskSecrets(describeError(error))}\n`);
    process.exitCode = ExitCode.failure;
  }
}
