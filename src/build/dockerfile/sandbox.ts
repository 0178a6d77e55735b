import { lstatSync, readlinkSync } from 'node:fs';
import { isolatedEnv } from '../exec.ts';

/*
 * buildah's `--isolation chroot` shares the host's network, PID namespace and (for a uid-0 RUN
 * that calls chroot() twice) its whole filesystem, and buildah refuses `--network none` with
 * chroot isolation. So kiln runs buildah itself inside bubblewrap: a new mount, PID, IPC and UTS
 * namespace, and a new network namespace (loopback only) unless the recipe says `network: true`.
 * The mount namespace holds only the system's programs and libraries (read-only), the few /etc
 * entries buildah reads, and the job's own folders: a RUN step that escapes buildah's chroot
 * lands in this tree, never in the host's (no checkout, no signing key, no other jobs).
 */

/** /etc entries buildah, its helpers and the dynamic loader read; each bound read-only when present. */
const etcEntries = [
  'alternatives',
  'containers',
  'group',
  'hosts',
  'ld.so.cache',
  'ld.so.conf',
  'ld.so.conf.d',
  'localtime',
  'nsswitch.conf',
  'passwd',
  'resolv.conf',
  'ssl',
  'ca-certificates',
  'pki',
  'subgid',
  'subuid',
];

/** Top-level folders of the system's programs: bound read-only, or re-created as the links they are. */
const systemDirs = ['usr', 'bin', 'sbin', 'lib', 'lib32', 'lib64', 'libx32'];

export interface SandboxSpec {
  /** false: a fresh network namespace with loopback only (RUN reaches nothing); true: the host's. */
  network: boolean;
  /** Folders the tool writes (storage, the output layout); bound read-write at the same path. */
  writable: readonly string[];
  /** Folders the tool only reads (context, Dockerfile folder, secrets); bound read-only. */
  readable: readonly string[];
  /** The tool's HOME and TMPDIR (also bound at /var/tmp); must lie in `writable`. */
  home: string;
  tmpDir: string;
}

function hostEntry(p: string): { kind: 'dir' | 'file' | 'link'; target?: string } | undefined {
  try {
    const st = lstatSync(p);
    if (st.isSymbolicLink()) return { kind: 'link', target: readlinkSync(p) };
    return { kind: st.isDirectory() ? 'dir' : 'file' };
  } catch {
    return undefined;
  }
}

/** The bubblewrap arguments that put `file args…` in the sandbox `spec` describes. */
export function sandboxArgs(spec: SandboxSpec, file: string, args: readonly string[]): string[] {
  const out: string[] = [
    '--die-with-parent',
    '--new-session',
    '--unshare-pid',
    '--unshare-ipc',
    '--unshare-uts',
    '--unshare-cgroup-try',
    ...(spec.network ? [] : ['--unshare-net']),
    '--hostname',
    'kiln-build',
    // buildah as root needs its capabilities to mount, chroot and set owners in layers
    // (bwrap drops them otherwise); a non-root kiln has none to keep.
    ...(process.getuid?.() === 0 ? ['--cap-add', 'ALL'] : []),
  ];
  for (const dir of systemDirs) {
    const entry = hostEntry(`/${dir}`);
    if (entry?.kind === 'link' && entry.target) out.push('--symlink', entry.target, `/${dir}`);
    else if (entry?.kind === 'dir') out.push('--ro-bind', `/${dir}`, `/${dir}`);
  }
  for (const name of etcEntries) {
    if (hostEntry(`/etc/${name}`)) out.push('--ro-bind', `/etc/${name}`, `/etc/${name}`);
  }
  out.push(
    '--ro-bind',
    '/sys',
    '/sys',
    '--proc',
    '/proc',
    '--dev',
    '/dev',
    '--tmpfs',
    '/tmp',
    '--tmpfs',
    '/run',
    '--dir',
    '/var',
    '--bind',
    spec.tmpDir,
    '/var/tmp',
  );
  // Parents before children, so a folder bound inside another stays visible.
  const binds = [
    ...spec.readable.map((dir) => ['--ro-bind', dir] as const),
    ...spec.writable.map((dir) => ['--bind', dir] as const),
  ].sort((a, b) => a[1].length - b[1].length);
  for (const [flag, dir] of binds) out.push(flag, dir, dir);
  out.push('--chdir', '/', '--', file, ...args);
  return out;
}

/** The clean environment a sandboxed build tool gets. */
export function sandboxEnv(
  spec: Pick<SandboxSpec, 'home' | 'tmpDir'>,
  extra: Record<string, string> = {},
): Record<string, string> {
  return isolatedEnv({
    home: spec.home,
    tmpDir: spec.tmpDir,
    extra: { BUILDAH_ISOLATION: 'chroot', STORAGE_DRIVER: 'vfs', ...extra },
  });
}
