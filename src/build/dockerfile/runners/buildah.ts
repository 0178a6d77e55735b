import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { platformOf, type Descriptor } from '../../../oci/media-types.ts';
import { manifestsByRef } from '../../assemble.ts';
import { runTool, type ToolRun } from '../../exec.ts';
import type { ResolvedBase } from '../bases.ts';
import { secretFlags, type SecretFile } from '../build-args.ts';
import { loadableBases } from '../flatten-base.ts';
import type { DockerfileRun, DockerfileRunner } from '../runner.ts';
import { sandboxArgs, sandboxEnv, type SandboxSpec } from '../sandbox.ts';
import { outputBases } from '../stages.ts';

/*
 * The daemonless backend: `buildah bud --isolation chroot` on vfs storage in a private folder.
 * chroot isolation needs no user namespaces or runc, and vfs needs no overlay mount, so it runs
 * in a container and on CI alike. Each arch is one `bud` into the same OCI layout, tagged with
 * the arch; the index over them is assembled afterwards.
 */

/** The `buildah` backend (the default): no daemon, one `bud` per arch under bubblewrap. */
export function createBuildahRunner(): DockerfileRunner {
  return { id: 'buildah', build: buildWithBuildah };
}

async function buildWithBuildah(run: DockerfileRun): Promise<Map<string, Descriptor>> {
  const storage = privateStorage(run.scratch);
  await mkdir(storage.root, { recursive: true, mode: 0o700 });
  await mkdir(storage.runroot, { recursive: true, mode: 0o700 });
  await mkdir(run.layoutDir, { recursive: true });
  const sandbox = sandboxOf(run, storage);
  // Build-only bases go in squashed: vfs stores each layer as a full copy of those below it.
  const shipped = outputBases(
    await readFile(run.dockerfile, 'utf8'),
    run.bases.map((b) => b.name),
    run.target,
  );
  for (const [i, arch] of run.archs.entries()) {
    run.onProgress?.({
      stage: 'build',
      percent: 10 + Math.round((70 * i) / run.archs.length),
      detail: `buildah, ${arch}`,
    });
    await budOneArch(run, { storage, sandbox, shipped, arch });
  }
  return manifestsByRef(run.layoutDir, run.archs);
}

/**
 * buildah runs in its own mount, PID and (unless `network: true`) network namespace, and sees
 * only the system's programs and this job's folders (sandbox.ts).
 */
function sandboxOf(run: DockerfileRun, storage: BuildahStorage): SandboxSpec {
  return {
    network: run.network,
    home: run.home,
    tmpDir: run.tmpDir,
    readable: [
      run.contextDir,
      path.dirname(run.dockerfile),
      ...new Set(run.secrets.map((s) => path.dirname(s.file))),
    ],
    writable: [path.dirname(storage.root), run.layoutDir, run.home, run.tmpDir],
  };
}

/** Loads the bases for one arch into the private storage, then `buildah bud` in the sandbox. */
async function budOneArch(
  run: DockerfileRun,
  ctx: {
    storage: BuildahStorage;
    sandbox: SandboxSpec;
    shipped: ReadonlySet<string>;
    arch: string;
  },
): Promise<void> {
  const { storage, sandbox, arch } = ctx;
  const loadable = await loadableBases(run.bases, ctx.shipped, {
    arch,
    dir: path.join(run.scratch, 'squashed'),
    mtime: run.sourceDateEpoch,
    log: run.log,
  });
  const baseImages = await preloadBases(
    loadable,
    storage,
    arch,
    run.tool(`loading bases for ${run.subject} (${arch})`),
  );
  await runTool({
    ...run.tool(`building ${run.subject} for ${arch} with buildah`),
    file: 'bwrap',
    label: 'buildah',
    args: sandboxArgs(
      sandbox,
      'buildah',
      budArgs({
        storage,
        contextDir: run.contextDir,
        dockerfile: run.dockerfile,
        arch,
        layoutDir: run.layoutDir,
        refName: arch,
        buildArgs: run.buildArgs,
        target: run.target,
        sourceDateEpoch: run.sourceDateEpoch,
        baseImages,
        secrets: run.secrets,
        annotations: run.annotations,
      }),
    ),
    env: sandboxEnv(sandbox, { SOURCE_DATE_EPOCH: String(run.sourceDateEpoch) }),
    extendEnv: false,
    classify: classifyBuildahFailure,
  });
}

export interface BuildahStorage {
  /** containers/storage graph root (`--root`). */
  root: string;
  /** containers/storage run root (`--runroot`). */
  runroot: string;
}

/** Global flags that keep buildah on its private storage, whatever the host's storage.conf says. */
export function storageFlags(storage: BuildahStorage): string[] {
  return ['--root', storage.root, '--runroot', storage.runroot, '--storage-driver', 'vfs'];
}

export function privateStorage(workDir: string): BuildahStorage {
  return {
    root: path.join(workDir, 'buildah', 'root'),
    runroot: path.join(workDir, 'buildah', 'run'),
  };
}

export interface BuildahBudOptions {
  storage: BuildahStorage;
  contextDir: string;
  dockerfile: string;
  arch: string;
  /** Where the image is written, as `oci:<layoutDir>:<refName>`. */
  layoutDir: string;
  refName: string;
  buildArgs: readonly [string, string][];
  target?: string;
  sourceDateEpoch: number;
  /** FROM name → image already in the private storage. */
  baseImages: ReadonlyMap<string, string>;
  secrets: readonly SecretFile[];
  annotations: Record<string, string>;
}

/** The `buildah bud` argument array: every value is its own element, never shell text. */
export function budArgs(o: BuildahBudOptions): string[] {
  const platform = platformOf(o.arch);
  return [
    ...storageFlags(o.storage),
    'bud',
    '--isolation',
    'chroot',
    '--format',
    'oci',
    // Reproducible: the created time and the layers' file times come from SOURCE_DATE_EPOCH.
    '--timestamp',
    String(o.sourceDateEpoch),
    // buildah's version label would change the image when the tool is upgraded, not the inputs.
    '--identity-label=false',
    '--arch',
    platform.architecture,
    ...(platform.variant ? ['--variant', platform.variant] : []),
    '--os',
    'linux',
    '--file',
    o.dockerfile,
    ...(o.target ? ['--target', o.target] : []),
    ...o.buildArgs.flatMap(([k, v]) => ['--build-arg', `${k}=${v}`]),
    ...[...o.baseImages].flatMap(([name, image]) => [
      '--build-context',
      `${name}=container-image://${image}`,
    ]),
    // Bases come from kiln, never from a remote registry.
    ...(o.baseImages.size > 0 ? ['--pull=never'] : []),
    ...secretFlags(o.secrets),
    ...Object.entries(o.annotations).flatMap(([k, v]) => ['--annotation', `${k}=${v}`]),
    '--tag',
    `oci:${o.layoutDir}:${o.refName}`,
    o.contextDir,
  ];
}

/**
 * Copies kiln-built bases into the private storage for one arch, under names kiln chooses
 * (`localhost/kiln-base/<name>:<arch>`), with skopeo: `buildah pull oci:<dir>` would name the
 * image after the folder's path, which breaks on upper-case letters. Returns FROM name → image.
 */
export async function preloadBases(
  bases: readonly ResolvedBase[],
  storage: BuildahStorage,
  arch: string,
  run: Omit<ToolRun, 'file' | 'args' | 'what'>,
): Promise<Map<string, string>> {
  const images = new Map<string, string>();
  const platform = platformOf(arch);
  for (const base of bases) {
    const image = `localhost/kiln-base/${base.name.toLowerCase().replace(/[^a-z0-9._-]/g, '-')}:${arch}`;
    await runTool({
      ...run,
      what: `loading base ${base.name} (${base.digest}) for ${arch}`,
      file: 'skopeo',
      args: [
        'copy',
        '--quiet',
        '--override-os',
        'linux',
        '--override-arch',
        platform.architecture,
        ...(platform.variant ? ['--override-variant', platform.variant] : []),
        `oci:${base.layoutDir}${base.ref ? `:${base.ref}` : ''}`,
        `containers-storage:[vfs@${storage.root}+${storage.runroot}]${image}`,
      ],
    });
    images.set(base.name, image);
  }
  return images;
}

/** Failures that another try may not see: the registry or the network, not the Dockerfile. */
export function classifyBuildahFailure({
  tail,
}: {
  tail: readonly string[];
}): 'permanent' | 'transient' {
  const text = tail.join('\n');
  return /(connection refused|i\/o timeout|TLS handshake timeout|no such host|too many requests|503 Service Unavailable|502 Bad Gateway|no space left on device)/i.test(
    text,
  )
    ? 'transient'
    : 'permanent';
}
