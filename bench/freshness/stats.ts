import { readFile } from 'node:fs/promises';
import { descendantsOf } from '../../src/build/process-tree.ts';
import { fixed } from '../lib/table.ts';

/** The q-quantile of sorted samples (nearest rank); NaN when there are none. */
export function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i] ?? Number.NaN;
}

/**
 * A distribution-free ~95% confidence interval of the median: the order statistics at ranks
 * n/2 ∓ 0.98·√n (the binomial(n, ½) normal approximation). Undefined under 6 samples.
 */
export function medianInterval(sorted: number[]): [number, number] | undefined {
  const n = sorted.length;
  if (n < 6) return undefined;
  const half = 0.98 * Math.sqrt(n);
  const lo = Math.max(0, Math.floor(n / 2 - half) - 1);
  const hi = Math.min(n - 1, Math.ceil(n / 2 + 1 + half) - 1);
  return [sorted[lo] ?? Number.NaN, sorted[hi] ?? Number.NaN];
}

export const seconds = (ms: number): string =>
  Number.isFinite(ms) ? `${fixed(ms / 1000, ms < 10_000 ? 2 : 1)} s` : '–';

/** User + system CPU of one process and of its waited-for children, in ms (USER_HZ = 100). */
async function cpuOf(pid: number): Promise<number> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // Fields 14–17 (utime, stime, cutime, cstime), counted from the state (field 3) at index 0.
    return [11, 12, 13, 14].reduce((sum, i) => sum + Number(f[i] ?? 0), 0) * 10;
  } catch {
    return 0;
  }
}

/**
 * CPU time of a process tree so far, in ms: every live process under `root` and what its
 * children that have ended used (their parents' cutime/cstime). A process that ends between two
 * readings still counts once its parent has waited for it.
 */
export async function treeCpuMs(root: number | undefined): Promise<number> {
  if (root === undefined) return 0;
  const pids = [root, ...(await descendantsOf(root))];
  const each = await Promise.all(pids.map(cpuOf));
  return each.reduce((a, b) => a + b, 0);
}
