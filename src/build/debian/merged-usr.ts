import type { LayerEntry } from '../../oci/tar.ts';

/*
 * The merged-/usr aliases, as trixie's base-files ships them (DEP-17: the aliasing symlinks moved
 * from usrmerge/debootstrap into base-files' data.tar). Every image gets them in its base layer,
 * whether or not the recipe lists base-files, because every trixie package installs below usr/
 * while ELF interpreters and scripts still name the aliased paths (/lib64/ld-linux-x86-64.so.2,
 * /lib/ld-linux-aarch64.so.1, #!/bin/sh).
 *
 * Per arch, from base-files 13.8's data.tar (amd64, arm64, armhf, riscv64) and trixie's
 * Contents-<arch> (ppc64el, s390x): all have bin, lib and sbin; amd64 and ppc64el also lib64
 * (their glibc interpreters are /lib64/ld-linux-x86-64.so.2 and /lib64/ld64.so.2; arm64's is
 * /lib/ld-linux-aarch64.so.1 and s390x's /lib/ld64.so.1). No arch gets lib32, libx32 or libo32.
 */
const common: [string, string][] = [
  ['bin', 'usr/bin'],
  ['lib', 'usr/lib'],
  ['sbin', 'usr/sbin'],
];
const withLib64 = new Set(['amd64', 'ppc64el']);

/** The aliases of one Debian arch as `[path, relative target]`, sorted by path. */
export function mergedUsrAliases(arch: string): [string, string][] {
  const aliases = withLib64.has(arch)
    ? [...common, ['lib64', 'usr/lib64'] as [string, string]]
    : common;
  return [...aliases].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

/** The base layer's share: the alias symlinks and the folders they lead to (as base-files ships). */
export function mergedUsrEntries(arch: string): LayerEntry[] {
  const aliases = mergedUsrAliases(arch);
  return [
    { path: 'usr', type: 'directory', mode: 0o755 },
    ...aliases.map(([, target]): LayerEntry => ({ path: target, type: 'directory', mode: 0o755 })),
    ...aliases.map(([p, target]): LayerEntry => ({
      path: p,
      type: 'symlink',
      mode: 0o777,
      linkname: target,
    })),
  ];
}
