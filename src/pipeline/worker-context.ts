import { configSecrets, type Config } from '../config.ts';
import { createLogger, registerSecrets, type Logger } from '../log.ts';
import { createPipelineContext, type PipelineContext } from './context.ts';

/*
 * A job's child process (workers/*.ts) works with its worker's configuration, which may hold more
 * than the environment (`kiln up` fills in the Redis, registry and signing key it started): the
 * worker hands it over in one variable, which the child removes before any build tool starts.
 */

const variable = 'KILN_WORKER_CONFIG';

/** The environment a worker gives its job's children. */
export function workerChildEnv(config: Config): Record<string, string> {
  return { [variable]: JSON.stringify(config) };
}

/** The configuration a worker handed to this child process, read once. */
function inheritedConfig(): Config {
  const text = process.env[variable];
  delete process.env[variable];
  if (!text) throw new Error(`${variable} is not set: this file runs as a kiln worker's child`);
  const config: Config = JSON.parse(text);
  if (typeof config.queuePrefix !== 'string' || typeof config.redisUrl !== 'string')
    throw new Error(`${variable} does not hold a kiln worker configuration`);
  registerSecrets(configSecrets(config));
  return config;
}

let context: Promise<PipelineContext> | undefined;

/** The connections, registry client and signer of this child process, made on its first job. */
export function childPipelineContext(): Promise<PipelineContext> {
  context ??= (async () => {
    const config = inheritedConfig();
    const logger = createLogger({ level: config.logLevel, name: 'kiln-job' });
    return createPipelineContext(config, logger);
  })();
  return context;
}

/** This child's logger (after its context is made). */
export async function childLogger(): Promise<Logger> {
  return (await childPipelineContext()).log;
}
