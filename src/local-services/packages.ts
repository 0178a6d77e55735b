import { execFileSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import path from 'node:path';

/** Where a Debian package puts the command kiln needs from it. */
export interface ToolNeed {
  command: string;
  debianPackage: string;
}

export const tools = {
  redis: { command: 'redis-server', debianPackage: 'redis-server' },
  redisCli: { command: 'redis-cli', debianPackage: 'redis-tools' },
  redisSentinel: { command: 'redis-sentinel', debianPackage: 'redis-sentinel' },
  registry: { command: 'docker-registry', debianPackage: 'docker-registry' },
  buildah: { command: 'buildah', debianPackage: 'buildah' },
  bwrap: { command: 'bwrap', debianPackage: 'bubblewrap' },
  skopeo: { command: 'skopeo', debianPackage: 'skopeo' },
  umoci: { command: 'umoci', debianPackage: 'umoci' },
  aptFtparchive: { command: 'apt-ftparchive', debianPackage: 'apt-utils' },
  gpg: { command: 'gpg', debianPackage: 'gpg' },
  dpkgDeb: { command: 'dpkg-deb', debianPackage: 'dpkg' },
} satisfies Record<string, ToolNeed>;

/** The absolute path of `command` on PATH (and the sbin folders), or undefined. */
export function which(command: string): string | undefined {
  const dirs = (process.env.PATH ?? '')
    .split(':')
    .concat(['/usr/sbin', '/sbin', '/usr/local/sbin']);
  for (const dir of dirs) {
    if (!dir) continue;
    const candidate = path.join(dir, command);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not in this folder
    }
  }
  return undefined;
}

/**
 * Makes sure the tools are installed: as root, installs the missing Debian packages with apt-get;
 * otherwise throws with the exact command a person should run.
 */
export function ensureTools(needs: ToolNeed[], options: { install?: boolean } = {}): void {
  const missing = needs.filter((n) => !which(n.command));
  if (missing.length === 0) return;
  const pkgs = [...new Set(missing.map((m) => m.debianPackage))];
  const isRoot = process.getuid?.() === 0;
  if (isRoot && options.install !== false && which('apt-get')) {
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
    execFileSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...pkgs], {
      stdio: 'inherit',
      env,
    });
    const still = missing.filter((n) => !which(n.command));
    if (still.length === 0) return;
  }
  throw new Error(
    `missing ${missing.map((m) => m.command).join(', ')}; install with: sudo apt-get install ${pkgs.join(' ')}`,
  );
}
