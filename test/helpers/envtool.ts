import { hostEnvPackage } from '../debian/fixtures.ts';
import { makeDebianRepo, type DebianTestRepo, type FakePackage } from './debian-repo.ts';

/*
 * The `envtool` fixture the pipeline tests and benches build: a recipe whose image holds the
 * host's `env` (package envtool, with the C library it needs) and its one dependency libc-fake,
 * from a local signed Debian repository (test/helpers/debian-repo.ts). The image's test runs
 * `/usr/bin/env`, so a build goes through the real sandboxed test runner.
 *
 * Used by test/reconcile/fleet.ts, test/cli/build-push.test.ts, bench/chaos and bench/freshness.
 */

/** envtool's version in the repository unless a test names another. */
export const envtoolVersion = '1.4-2';

/** Where the recipe's version and tag come from. */
export type EnvtoolUpstream = { debian: true } | { npm: string } | { github: string };

export interface EnvtoolRecipeOptions {
  /** The recipe's name (default `envtool`). */
  name?: string;
  /** Its description: who uses the fixture. */
  description: string;
  /**
   * The upstream (default the Debian package envtool in `stable`, with the debian version
   * scheme). An npm or GitHub upstream gives the tag; the contents stay the Debian packages.
   */
  upstream?: EnvtoolUpstream;
}

/** The recipe's YAML text. */
export function envtoolRecipe(options: EnvtoolRecipeOptions): string {
  const upstream = options.upstream ?? { debian: true };
  const source =
    'npm' in upstream
      ? `npm: ${upstream.npm}\n`
      : 'github' in upstream
        ? `github: ${upstream.github}\n`
        : 'debian: { package: envtool, suite: stable }\nversions:\n  scheme: debian\n';
  return `name: ${options.name ?? 'envtool'}
description: ${options.description}
license: MIT
upstream:
  ${source}build:
  builder: debian
  archs: [amd64]
  contents:
    suites: [stable]
    packages: [envtool]
test:
  - name: env runs in the image
    run: [/usr/bin/env]
`;
}

/** envtool (the host's env and C library) and libc-fake, in `suite` (default `stable`). */
export async function envtoolPackages(
  version = envtoolVersion,
  suite = 'stable',
): Promise<FakePackage[]> {
  return [
    { ...(await hostEnvPackage(version)), suite },
    {
      name: 'libc-fake',
      version: '1.0',
      suite,
      files: { 'usr/share/doc/libc-fake/copyright': 'License: LGPL-2.1+\n' },
    },
  ];
}

/**
 * A local signed repository (amd64) with suite `stable` holding envtool's packages; `more` adds
 * packages in further suites (e.g. a python-sized closure in trixie).
 */
export async function makeEnvtoolRepo(
  options: { version?: string; more?: { packages: FakePackage[]; suites: string[] } } = {},
): Promise<DebianTestRepo> {
  return makeDebianRepo(
    [...(await envtoolPackages(options.version)), ...(options.more?.packages ?? [])],
    { suites: ['stable', ...(options.more?.suites ?? [])], archs: ['amd64'] },
  );
}
