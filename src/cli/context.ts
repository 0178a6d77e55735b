import { ConfigError, configSecrets, loadConfig, type Config } from '../config.ts';
import { createLogger, registerSecrets, type Logger } from '../log.ts';

/** Exit codes every command uses (documented in the README). */
export const ExitCode = {
  ok: 0,
  /** Something the user can fix failed: a bad recipe, a failed verification, a failed build. */
  failure: 1,
  /** Bad usage or configuration, or a command this build does not have yet. */
  usage: 2,
} as const;

/** A failure that ends the command with a message and an exit code, no stack trace. */
export class CliExit extends Error {
  constructor(
    message: string,
    readonly code: number = ExitCode.failure,
  ) {
    super(message);
  }
}

export interface CliContext {
  config: Config;
  log: Logger;
}

/**
 * Loads configuration once per command; bad variables end the command with exit 2. One-shot
 * commands (`interactive`) log warnings only, unless KILN_LOG_LEVEL says otherwise: their output
 * is the result, not the log.
 */
export function cliContext(options: { interactive?: boolean } = {}): CliContext {
  let config: Config;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      throw new CliExit(
        `kiln: bad configuration\n${error.problems.map((p) => `  ${p}`).join('\n')}`,
        ExitCode.usage,
      );
    }
    throw error;
  }
  registerSecrets(configSecrets(config));
  const level = options.interactive && !process.env.KILN_LOG_LEVEL ? 'warn' : config.logLevel;
  return { config, log: createLogger({ level }) };
}

/** What a command prints when the part behind it has not landed yet. */
export function notYet(command: string, issue: string): never {
  throw new CliExit(`kiln ${command}: not available yet (${issue})`, ExitCode.usage);
}
