import path from 'node:path';
import { PermanentError } from '../../../errors.ts';
import { platformOf, type Descriptor } from '../../../oci/media-types.ts';
import { manifestsUnderRoot } from '../../assemble.ts';
import { runTool } from '../../exec.ts';
import type { ResolvedBase } from '../bases.ts';
import { secretFlags, type SecretFile } from '../build-args.ts';
import type { DockerfileRun, DockerfileRunner, RunnerConfig } from '../runner.ts';

/*
 * The BuildKit backend: `buildctl build --frontend dockerfile.v0` against a buildkitd at
 * KILN_BUILDKIT_ADDR (one daemon, or a load-balanced pool), all arches in one solve, written as
 * an OCI layout folder. Registry cache import/export lets a pool of daemons share layers.
 */

/** The `buildkit` backend (`KILN_DOCKERFILE_BACKEND=buildkit`), against KILN_BUILDKIT_ADDR. */
export function createBuildkitRunner(config: RunnerConfig): DockerfileRunner {
  return { id: 'buildkit', build: (run) => buildWithBuildkit(run, config) };
}

async function buildWithBuildkit(
  run: DockerfileRun,
  config: RunnerConfig,
): Promise<Map<string, Descriptor>> {
  if (!config.buildkitAddr)
    throw new PermanentError('the buildkit backend needs KILN_BUILDKIT_ADDR');
  run.onProgress?.({ stage: 'build', percent: 10, detail: `buildctl, ${run.archs.join(', ')}` });
  await runTool({
    ...run.tool(`building ${run.subject} (${run.archs.join(', ')}) with BuildKit`),
    file: 'buildctl',
    args: buildctlArgs({
      addr: config.buildkitAddr,
      contextDir: run.contextDir,
      dockerfile: run.dockerfile,
      archs: run.archs,
      outputDir: run.layoutDir,
      buildArgs: run.buildArgs,
      target: run.target,
      sourceDateEpoch: run.sourceDateEpoch,
      bases: run.bases,
      secrets: run.secrets,
      cacheRef: config.registry ? `${config.registry}/${run.repository}:buildcache` : undefined,
      annotations: run.annotations,
      network: run.network,
    }),
    classify: classifyBuildkitFailure,
  });
  return manifestsUnderRoot(run.layoutDir, run.archs);
}

export interface BuildctlOptions {
  addr: string;
  contextDir: string;
  /** Absolute path of the Dockerfile. */
  dockerfile: string;
  archs: readonly string[];
  /** An empty folder: the OCI layout is written there (`tar=false`). */
  outputDir: string;
  buildArgs: readonly [string, string][];
  target?: string;
  sourceDateEpoch: number;
  bases: readonly ResolvedBase[];
  secrets: readonly SecretFile[];
  /** `host/repo:tag` of the registry cache; none means no cache import/export. */
  cacheRef?: string;
  /** Set on each manifest and on the index. */
  annotations: Record<string, string>;
  /** RUN steps get the network only when the recipe says `network: true`; else `none`. */
  network?: boolean;
}

/** A field of buildctl's comma-separated option lists, quoted CSV-style when it needs to be. */
export function csvField(value: string): string {
  return /[",\n]/.test(value) ? `"${value.replaceAll('"', '""')}"` : value;
}

/** The `buildctl` argument array, in the forms BuildKit documents. */
export function buildctlArgs(o: BuildctlOptions): string[] {
  const platforms = o.archs.map((a) => {
    const p = platformOf(a);
    return `${p.os}/${p.architecture}${p.variant ? `/${p.variant}` : ''}`;
  });
  const output = [
    'type=oci',
    `dest=${o.outputDir}`,
    'tar=false',
    'oci-mediatypes=true',
    // Layer file times clamped to SOURCE_DATE_EPOCH: the same inputs give the same digests.
    'rewrite-timestamp=true',
    ...Object.entries(o.annotations).flatMap(([k, v]) => [
      `annotation.${k}=${v}`,
      `annotation-index.${k}=${v}`,
    ]),
  ]
    .map(csvField)
    .join(',');
  const args = [
    '--addr',
    o.addr,
    'build',
    '--progress',
    'plain',
    '--frontend',
    'dockerfile.v0',
    '--local',
    `context=${o.contextDir}`,
    '--local',
    `dockerfile=${path.dirname(o.dockerfile)}`,
    '--opt',
    `filename=${path.basename(o.dockerfile)}`,
    '--opt',
    `platform=${platforms.join(',')}`,
    ...(o.target ? ['--opt', `target=${o.target}`] : []),
    // The Dockerfile frontend's own switch: every RUN in a network namespace with loopback only.
    ...(o.network ? [] : ['--opt', 'force-network-mode=none']),
    ...o.buildArgs.flatMap(([k, v]) => ['--opt', `build-arg:${k}=${v}`]),
    ...o.bases.flatMap((base, i) => [
      '--oci-layout',
      `kilnbase${i}=${base.layoutDir}`,
      '--opt',
      `context:${base.name}=oci-layout://kilnbase${i}@${base.digest}`,
    ]),
    ...secretFlags(o.secrets),
    ...(o.cacheRef
      ? [
          '--import-cache',
          `type=registry,ref=${o.cacheRef}`,
          '--export-cache',
          `type=registry,ref=${o.cacheRef},mode=max`,
        ]
      : []),
    '--output',
    output,
  ];
  return args;
}

/** buildkitd's own network trouble is worth a retry; a failing RUN is not. */
export function classifyBuildkitFailure({
  tail,
}: {
  tail: readonly string[];
}): 'permanent' | 'transient' {
  const text = tail.join('\n');
  return /(connection refused|connection reset|i\/o timeout|Unavailable|DeadlineExceeded|failed to dial|no such host|too many requests|503 Service Unavailable)/i.test(
    text,
  )
    ? 'transient'
    : 'permanent';
}
