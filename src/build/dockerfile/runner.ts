import type { Config } from '../../config.ts';
import type { Logger } from '../../log.ts';
import type { Descriptor } from '../../oci/media-types.ts';
import type { ToolRun } from '../exec.ts';
import type { BuildInput } from '../types.ts';
import type { ResolvedBase } from './bases.ts';
import type { SecretFile } from './build-args.ts';

/*
 * A Dockerfile backend, as melange's `pkg/container/runner.go` is a container runner: one
 * interface, one file per backend under runners/, chosen in runners.ts by
 * KILN_DOCKERFILE_BACKEND. The builder (index.ts) prepares everything a backend needs (context,
 * bases, secrets, build args) and afterwards checks, tests and assembles what it wrote.
 */

/** What a backend is asked to build: every arch of one recipe's Dockerfile, into one OCI layout. */
export interface DockerfileRun {
  /** `<recipe> <version>`, for messages. */
  subject: string;
  /** The recipe's repository (relative to KILN_REGISTRY), for BuildKit's registry cache. */
  repository: string;
  archs: readonly string[];
  contextDir: string;
  /** Absolute path of the Dockerfile. */
  dockerfile: string;
  /** Where the OCI layout is written. */
  layoutDir: string;
  /** The job's private scratch folder: a backend's storage and squashed bases go there. */
  scratch: string;
  /** The tools' own HOME and TMPDIR (inside `scratch`). */
  home: string;
  tmpDir: string;
  buildArgs: readonly [string, string][];
  target?: string | undefined;
  sourceDateEpoch: number;
  bases: readonly ResolvedBase[];
  secrets: readonly SecretFile[];
  /** Set on each manifest (and, where the backend writes one, on the index). */
  annotations: Record<string, string>;
  /** RUN steps get the network only when the recipe says `network: true`. */
  network: boolean;
  /** What every tool run shares: the clean environment, the signal, the time left, the log. */
  tool: (what: string) => Omit<ToolRun, 'file' | 'args'>;
  log: Logger;
  onProgress?: BuildInput['onProgress'];
}

/** One Dockerfile backend. */
export interface DockerfileRunner {
  readonly id: Config['dockerfileBackend'];
  /** Builds every arch into `run.layoutDir`; returns each arch's manifest, by arch. */
  build(run: DockerfileRun): Promise<Map<string, Descriptor>>;
}

/** What a backend may read of kiln's configuration. */
export type RunnerConfig = Pick<Config, 'buildkitAddr' | 'registry'>;

/** Makes a backend from kiln's configuration. */
export type RunnerFactory = (config: RunnerConfig) => DockerfileRunner;
