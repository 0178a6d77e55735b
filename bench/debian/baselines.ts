import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { gzip as gzipCb } from 'node:zlib';
import { execa } from 'execa';
import { blobPath } from '../../src/debian/deb-cache.ts';
import type { Lockfile } from '../../src/debian/lockfile.ts';
import { gzipLevel } from '../../src/oci/tar.ts';
import { readFile } from 'node:fs/promises';
import { decompress, compressionOf } from '../../src/debian/decompress.ts';
import { readAr } from '../../src/debian/ar.ts';

const gzip = promisify(gzipCb);

export interface Measured {
  ms: number;
  /** CPU time of the whole process (all threads): robust when other work shares the machine. */
  cpuMs: number;
  bytes: number;
}

/** Wall and CPU time of `fn`. */
export async function timed<T>(
  fn: () => Promise<T>,
): Promise<{ ms: number; cpuMs: number; value: T }> {
  const cpu = process.cpuUsage();
  const start = performance.now();
  const value = await fn();
  const used = process.cpuUsage(cpu);
  return { ms: performance.now() - start, cpuMs: (used.user + used.system) / 1000, value };
}

/**
 * The gzip floor: the uncompressed data.tar payloads of the lockfile's packages, gzipped once at
 * the level kiln uses, all in parallel as kiln does. Only the gzip is timed.
 */
export async function gzipFloor(lock: Lockfile, cacheDir: string): Promise<Measured> {
  const payloads: Buffer[] = [];
  for (const p of lock.packages) {
    const deb = await readFile(blobPath(cacheDir, p.sha256));
    const member = readAr(deb, p.name).find((m) => m.name.startsWith('data.tar'));
    if (!member) continue;
    payloads.push(await decompress(member.data, compressionOf(member.name) ?? 'none'));
  }
  const t = await timed(() => Promise.all(payloads.map((p) => gzip(p, { level: gzipLevel }))));
  return { ms: t.ms, cpuMs: t.cpuMs, bytes: t.value.reduce((a, b) => a + b.length, 0) };
}

/**
 * Size of a root folder: bytes on disk (du) and as one gzip tar, without apt's package and list
 * caches (an image build would clean them).
 */
async function rootfsSizes(dir: string): Promise<{ du: number; targz: number }> {
  await rm(path.join(dir, 'var', 'cache', 'apt', 'archives'), { recursive: true, force: true });
  await rm(path.join(dir, 'var', 'lib', 'apt', 'lists'), { recursive: true, force: true });
  const du = Number((await execa('du', ['-sb', dir])).stdout.split(/\s+/)[0]);
  const tar = await execa('bash', [
    '-c',
    `tar -C ${JSON.stringify(dir)} --numeric-owner -cf - . | gzip -${gzipLevel} | wc -c`,
  ]);
  return { du, targz: Number(tar.stdout.trim()) };
}

export interface Debootstrapped {
  ms: number;
  du: number;
  targz: number;
}

/**
 * `debootstrap --variant=minbase` of a suite (optionally with extra packages), from the host's
 * mirror, with a package cache kept between runs so it is measured warm like kiln.
 */
export async function debootstrap(
  suite: string,
  mirror: string,
  include: string[],
  work: string,
  cacheDir: string,
  timeoutMs: number,
): Promise<Debootstrapped | string> {
  const target = path.join(work, `debootstrap-${suite}-${include.join('-') || 'minbase'}`);
  await rm(target, { recursive: true, force: true });
  await mkdir(cacheDir, { recursive: true });
  const start = performance.now();
  const args = [
    '--variant=minbase',
    `--cache-dir=${cacheDir}`,
    ...(include.length ? [`--include=${include.join(',')}`] : []),
    suite,
    target,
    mirror,
  ];
  const r = await execa('debootstrap', args, { reject: false, timeout: timeoutMs, all: true });
  const ms = performance.now() - start;
  if (r.exitCode !== 0)
    return `failed (${r.timedOut ? 'timeout' : `exit ${r.exitCode}`}): ${(r.all ?? '').split('\n').slice(-2).join(' ')}`;
  const sizes = await rootfsSizes(target);
  await rm(target, { recursive: true, force: true });
  return { ms, ...sizes };
}
