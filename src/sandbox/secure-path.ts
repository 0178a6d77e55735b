import { lstat, readlink } from 'node:fs/promises';
import path from 'node:path';
import { PermanentError } from '../errors.ts';

/**
 * Resolves `rel` under `root` following symlinks the way a container runtime does: an absolute
 * link target restarts from `root`, `..` never climbs above it. The last component is followed
 * only when `followLast` is set. Nothing the image contains can make this leave `root`.
 * `knownDirs` holds absolute paths the caller created as real folders and has not replaced since.
 */
export async function secureJoin(
  root: string,
  rel: string,
  followLast = false,
  knownDirs?: Set<string>,
): Promise<string> {
  const pending = rel.split('/').filter((s) => s !== '' && s !== '.');
  const done: string[] = [];
  let hops = 0;
  while (pending.length > 0) {
    const seg = pending.shift() ?? '';
    if (seg === '..') {
      done.pop();
      continue;
    }
    const candidate = path.join(root, ...done, seg);
    if (pending.length === 0 && !followLast) {
      done.push(seg);
      break;
    }
    // Folders this unpack made itself are known not to be links: skip the syscall.
    if (knownDirs?.has(candidate)) {
      done.push(seg);
      continue;
    }
    const st = await lstat(candidate).catch(() => undefined);
    if (st?.isSymbolicLink()) {
      if (++hops > 255) throw new PermanentError(`too many symlinks resolving ${rel} in ${root}`);
      const target = await readlink(candidate);
      if (target.startsWith('/')) done.length = 0;
      pending.unshift(...target.split('/').filter((s) => s !== '' && s !== '.'));
      continue;
    }
    done.push(seg);
  }
  return path.join(root, ...done);
}
