import { PermanentError } from '../../errors.ts';
import type { DockerfileRunner, RunnerConfig, RunnerFactory } from './runner.ts';
import { createBuildahRunner } from './runners/buildah.ts';
import { createBuildkitRunner } from './runners/buildkit.ts';

/**
 * Every Dockerfile backend, by id: one file each under runners/ (a test checks that this map
 * and the files agree). KILN_DOCKERFILE_BACKEND names one of them.
 */
export const runners: ReadonlyMap<string, RunnerFactory> = new Map<string, RunnerFactory>([
  ['buildah', () => createBuildahRunner()],
  ['buildkit', (config) => createBuildkitRunner(config)],
]);

/** The backend KILN_DOCKERFILE_BACKEND names, configured from `config`. */
export function getRunner(id: string, config: RunnerConfig): DockerfileRunner {
  const factory = runners.get(id);
  if (!factory)
    throw new PermanentError(
      `no Dockerfile backend ${JSON.stringify(id)}; kiln has ${[...runners.keys()].sort().join(', ')}`,
    );
  return factory(config);
}
