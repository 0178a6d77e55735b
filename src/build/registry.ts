import path from 'node:path';
import type { Config } from '../config.ts';
import { PermanentError } from '../errors.ts';
import { createApkoBuilder } from './apko/index.ts';
import { createDebianBuilder, debianBuilderOptions } from './debian/index.ts';
import { createDockerfileBuilder } from './dockerfile/index.ts';
import type { Builder } from './types.ts';

/** Makes a builder from kiln's configuration. */
export type BuilderFactory = (config: Config) => Builder;

/**
 * Every builder kiln has, by id: one folder under src/build/ with an index.ts each (a test
 * checks that this map and the folders agree). A recipe's `build.builder` names one of them.
 */
export const builders: ReadonlyMap<string, BuilderFactory> = new Map<string, BuilderFactory>([
  ['dockerfile', (config) => createDockerfileBuilder({ config })],
  ['apko', (config) => createApkoBuilder({ cacheDir: path.join(config.cacheDir, 'apko') })],
  ['debian', (config) => createDebianBuilder(debianBuilderOptions(config))],
]);

/** The builder for `id`, configured from `config`; an unknown id is the recipe's mistake. */
export function getBuilder(id: string, config: Config): Builder {
  const factory = builders.get(id);
  if (!factory)
    throw new PermanentError(
      `no builder ${JSON.stringify(id)}; kiln has ${[...builders.keys()].sort().join(', ')}`,
    );
  return factory(config);
}
