import { loadConfig, type Config } from '../../src/config.ts';
import { createLogger } from '../../src/log.ts';
import { memoryValidatorCache } from '../../src/upstream/cache.ts';
import type { SourceContext } from '../../src/upstream/types.ts';

/** A source context for tests: config from `env` only (never the host's), a quiet logger. */
export function testSourceContext(
  env: Record<string, string>,
  overrides: Partial<SourceContext> = {},
): SourceContext {
  const config: Config = loadConfig(env);
  return {
    config,
    log: createLogger({ level: process.env.KILN_TEST_LOG ?? 'silent' }),
    cache: memoryValidatorCache(),
    maxBodyBytes: 4 * 1024 * 1024,
    timeoutMs: 10_000,
    sourceOptions: { github: { retryBaseMs: 5 } },
    ...overrides,
  };
}
