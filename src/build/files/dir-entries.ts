import { lstat, readdir, readFile, readlink } from 'node:fs/promises';
import path from 'node:path';
import type { LayerEntry } from '../../oci/tar.ts';

/**
 * A folder's files, folders and symlinks as layer entries (paths relative to `root`, sorted by the
 * tar writer later). Owners are root; modes are kept. The tar writer refuses escaping symlinks.
 */
export async function dirEntries(root: string): Promise<LayerEntry[]> {
  const out: LayerEntry[] = [];
  const walk = async (dir: string): Promise<void> => {
    for (const name of (await readdir(dir)).sort()) {
      const full = path.join(dir, name);
      const rel = path.relative(root, full);
      const st = await lstat(full);
      const mode = st.mode & 0o7777;
      if (st.isSymbolicLink())
        out.push({ path: rel, type: 'symlink', mode: 0o777, linkname: await readlink(full) });
      else if (st.isDirectory()) {
        out.push({ path: rel, type: 'directory', mode });
        await walk(full);
      } else if (st.isFile())
        out.push({ path: rel, type: 'file', mode, data: await readFile(full) });
    }
  };
  await walk(root);
  return out;
}
