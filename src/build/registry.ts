import path from 'node:path';
import type { Config } from '../config.ts';
import { PermanentError } from '../errors.ts';
import { debianBuilderVersion } from './debian/builder-version.ts';
import type { Builder } from './types.ts';

/** Makes a builder from kiln's configuration. */
export type BuilderFactory = (config: Config) => Builder;

/**
 * What the registry knows of a builder without loading it: its version (it goes into every
 * inputs digest, so the planner needs it first), whether it resolves inputs, and how to load its
 * module. A builder's module (the debian assembler, buildah/BuildKit runners, apko) is imported
 * only when a recipe's build or resolve first needs it, so `kiln build` of a Debian recipe loads
 * no Dockerfile runner. src/build/registry.test.ts checks `version` and `resolves` against the
 * loaded builders.
 */
interface BuilderEntry {
  version: string;
  resolves: boolean;
  load: () => Promise<BuilderFactory>;
}

const entries: Record<string, BuilderEntry> = {
  dockerfile: {
    version: '2',
    resolves: true,
    load: async () => {
      const { createDockerfileBuilder } = await import('./dockerfile/index.ts');
      return (config) => createDockerfileBuilder({ config });
    },
  },
  apko: {
    version: '1',
    resolves: false,
    load: async () => {
      const { createApkoBuilder } = await import('./apko/index.ts');
      return (config) => createApkoBuilder({ cacheDir: path.join(config.cacheDir, 'apko') });
    },
  },
  debian: {
    version: debianBuilderVersion,
    resolves: true,
    load: async () => {
      const { createDebianBuilder, debianBuilderOptions } = await import('./debian/index.ts');
      return (config) => createDebianBuilder(debianBuilderOptions(config));
    },
  },
};

/** The builder `id` as its own module makes it from `config`, the module loaded now. */
export async function loadBuilder(id: string, config: Config): Promise<Builder> {
  const entry = entries[id];
  if (!entry) throw unknownBuilder(id);
  return (await entry.load())(config);
}

/** A builder that loads its module on its first `resolve` or `build`, and is then that builder. */
function lazyBuilder(id: string, entry: BuilderEntry, config: Config): Builder {
  let loading: Promise<Builder> | undefined;
  const real = () => (loading ??= entry.load().then((make) => make(config)));
  const builder: Builder = {
    id,
    version: entry.version,
    build: async (input) => (await real()).build(input),
  };
  if (entry.resolves)
    builder.resolve = async (recipe, recipeFile, version, arch, signal) => {
      const loaded = await real();
      if (!loaded.resolve) throw new PermanentError(`builder ${id} resolves no inputs`);
      return loaded.resolve(recipe, recipeFile, version, arch, signal);
    };
  return builder;
}

/**
 * Every builder kiln has, by id: one folder under src/build/ with an index.ts each (a test
 * checks that this map and the folders agree). A recipe's `build.builder` names one of them.
 */
export const builders: ReadonlyMap<string, BuilderFactory> = new Map<string, BuilderFactory>(
  Object.entries(entries).map(([id, entry]) => [id, (config) => lazyBuilder(id, entry, config)]),
);

function unknownBuilder(id: string): PermanentError {
  return new PermanentError(
    `no builder ${JSON.stringify(id)}; kiln has ${[...builders.keys()].sort().join(', ')}`,
  );
}

/** The builder for `id`, configured from `config`; an unknown id is the recipe's mistake. */
export function getBuilder(id: string, config: Config): Builder {
  const factory = builders.get(id);
  if (!factory) throw unknownBuilder(id);
  return factory(config);
}
