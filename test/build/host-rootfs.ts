import { execFileSync } from 'node:child_process';
import { copyFile, mkdir, realpath, rm } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';

/*
 * Dockerfile tests cannot pull a base image (no network but npm and Debian). They build on a
 * tiny root filesystem made here from the host's own dash and coreutils plus the shared
 * libraries `ldd` names: no package to install, works offline, and is a real dynamically linked
 * userland like a Debian base image's.
 */
const defaultPrograms = ['dash', 'cat', 'sleep', 'mkdir', 'ls', 'seq'];

/**
 * Writes `rootfs.tar` (with /bin/sh, a copy of `shell`) into `dir` and returns its path; the
 * staging folder is removed, so `dir` can be a build context.
 */
export async function makeHostRootfsTar(
  dir: string,
  options: { programs?: string[]; shell?: string } = {},
): Promise<string> {
  const programs = options.programs ?? defaultPrograms;
  const shell = options.shell ?? 'dash';
  const root = path.join(dir, 'rootfs');
  await mkdir(path.join(root, 'bin'), { recursive: true });
  const libs = new Set<string>();
  for (const name of programs) {
    const real = await realpath(
      execFileSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' }).trim(),
    );
    await copyFile(real, path.join(root, 'bin', name));
    const ldd = await execa('ldd', [real], { reject: false });
    for (const match of ldd.stdout.matchAll(/(\/\S+\.so[^\s]*)/g)) if (match[1]) libs.add(match[1]);
  }
  await copyFile(path.join(root, 'bin', shell), path.join(root, 'bin', 'sh'));
  for (const lib of libs) {
    await mkdir(path.join(root, path.dirname(lib)), { recursive: true });
    await copyFile(await realpath(lib), path.join(root, lib));
  }
  // Mount points a runtime (and the bubblewrap sandbox) expects, as in a Debian base image.
  for (const d of ['tmp', 'proc', 'dev', 'etc'])
    await mkdir(path.join(root, d), { recursive: true });
  const tar = path.join(dir, 'rootfs.tar');
  await execa('tar', [
    '-C',
    root,
    '--owner=0',
    '--group=0',
    '--numeric-owner',
    '--mtime=@0',
    '--sort=name',
    '-cf',
    tar,
    '.',
  ]);
  await rm(root, { recursive: true, force: true });
  return tar;
}
