import { chmod, mkdir, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Logger } from '../log.ts';

/** Where and how a build's private folder is made. */
export interface WorkDirOptions {
  /** Parent folder; default `<tmp>/kiln-builds`. */
  parent?: string;
  /** Readable part of the folder's name, e.g. `hello-1.2.3-amd64`; anything odd becomes `_`. */
  name: string;
  /** Keep the folder when the build fails, for debugging (KILN_KEEP_FAILED_BUILDS). */
  keepOnFailure: boolean;
  log?: Logger;
}

export interface WorkDir {
  /** Absolute path; mode 0700, so other users on the machine cannot read sources or secrets. */
  dir: string;
  /** Removes the folder, unless the build failed and failed builds are kept. Idempotent. */
  close(outcome: 'succeeded' | 'failed'): Promise<{ kept: boolean }>;
}

export function defaultWorkParent(): string {
  return path.join(os.tmpdir(), 'kiln-builds');
}

/** Makes a fresh private build folder. */
export async function createWorkDir(options: WorkDirOptions): Promise<WorkDir> {
  const parent = options.parent ?? defaultWorkParent();
  await mkdir(parent, { recursive: true, mode: 0o700 });
  const safe = options.name.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 80);
  const dir = await mkdtemp(path.join(parent, `${safe}-`));
  // mkdtemp already uses 0700; say it explicitly so a umask or a platform cannot loosen it.
  await chmod(dir, 0o700);
  let closed: { kept: boolean } | undefined;
  return {
    dir,
    async close(outcome) {
      if (closed) return closed;
      if (outcome === 'failed' && options.keepOnFailure) {
        options.log?.warn({ workDir: dir }, 'build failed; keeping its work folder for debugging');
        closed = { kept: true };
      } else {
        await rm(dir, { recursive: true, force: true });
        closed = { kept: false };
      }
      return closed;
    },
  };
}

/** Runs `fn` in a fresh private folder, removed afterwards (kept on failure when asked). */
export async function withWorkDir<T>(
  options: WorkDirOptions,
  fn: (dir: string) => Promise<T>,
): Promise<T> {
  const work = await createWorkDir(options);
  try {
    const result = await fn(work.dir);
    await work.close('succeeded');
    return result;
  } catch (error) {
    await work.close('failed');
    throw error;
  }
}
