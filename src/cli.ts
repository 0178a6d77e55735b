import { Command, CommanderError } from 'commander';
import { describeError } from './errors.ts';
import { maskSecrets } from './log.ts';
import { CliExit, ExitCode } from './cli/context.ts';

type Register = (program: Command) => void;

/*
 * Each command's module is imported only when that command runs: `kiln lint` should not pay for
 * loading BullMQ, fastify and the signing libraries. Help and unknown commands load them all.
 */
const modules: Record<string, () => Promise<Register>> = {
  lint: () => import('./cli/lint.ts').then((m) => m.registerLint),
  plan: () => import('./cli/plan.ts').then((m) => m.registerPlan),
  build: () => import('./cli/build.ts').then((m) => m.registerBuild),
  run: () => import('./cli/run.ts').then((m) => m.registerRun),
  verify: () => import('./cli/verify.ts').then((m) => m.registerVerify),
  keygen: () => import('./cli/keygen.ts').then((m) => m.registerKeygen),
  status: () => import('./cli/status.ts').then((m) => m.registerStatus),
};
const moduleOf: Record<string, string> = { up: 'run', watch: 'run', worker: 'run', serve: 'run' };

const program = new Command('kiln')
  .description('Continuous rebuilds of minimal, signed, evergreen container images')
  .version('0.1.0')
  .showHelpAfterError()
  .exitOverride();

const name = process.argv[2] ?? '';
const only = modules[moduleOf[name] ?? name];
for (const load of only ? [only] : Object.values(modules)) (await load())(program);

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
