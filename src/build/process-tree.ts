import { readdir, readFile } from 'node:fs/promises';

/*
 * Killing a build means killing everything it started. A process group (detached + kill(-pid))
 * covers most of it, but build tools start children in sessions of their own (buildah's chroot
 * isolation, a RUN step's `setsid`), so the tree is also walked through /proc by parent pid.
 */

/** Every live descendant of `root` (not `root` itself), found through /proc's parent links. */
export async function descendantsOf(root: number): Promise<number[]> {
  const children = new Map<number, number[]>();
  let entries: string[];
  try {
    entries = await readdir('/proc');
  } catch {
    return [];
  }
  await Promise.all(
    entries
      .filter((e) => /^\d+$/.test(e))
      .map(async (e) => {
        const ppid = await parentOf(Number(e));
        if (ppid === undefined) return;
        const list = children.get(ppid) ?? [];
        list.push(Number(e));
        children.set(ppid, list);
      }),
  );
  const out: number[] = [];
  const queue = [root];
  while (queue.length > 0) {
    const pid = queue.shift();
    if (pid === undefined) break;
    for (const child of children.get(pid) ?? []) {
      out.push(child);
      queue.push(child);
    }
  }
  return out;
}

async function parentOf(pid: number): Promise<number | undefined> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses: read after the last ')'.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ppid = Number(rest[1]);
    return Number.isFinite(ppid) ? ppid : undefined;
  } catch {
    return undefined;
  }
}

/** Sends `signal` to the group led by `pid`, to `pid`, and to each of `others`; gone ones are ignored. */
export function signalAll(pid: number, others: Iterable<number>, signal: NodeJS.Signals): void {
  for (const target of [-pid, pid, ...others]) {
    try {
      process.kill(target, signal);
    } catch {
      // ESRCH: already gone. EPERM cannot happen for our own children.
    }
  }
}

/** True while a process with this pid exists (and is not a zombie). */
export async function isAlive(pid: number): Promise<boolean> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}
