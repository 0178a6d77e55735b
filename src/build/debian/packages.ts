import pLimit from 'p-limit';
import { PermanentError } from '../../errors.ts';
import { readDeb, type DebContents } from '../../debian/deb.ts';
import { fetchDeb } from '../../debian/deb-cache.ts';
import type { Lockfile, LockedPackage } from '../../debian/lockfile.ts';
import type { SuiteSource } from '../../debian/sources.ts';

export interface FetchedPackage {
  locked: LockedPackage;
  contents: DebContents;
}

/**
 * Downloads (or takes from the cache) and unpacks every package of a lockfile, a few at a time.
 * Each .deb is checked against the lockfile's SHA256 before it is read.
 */
export async function fetchPackages(
  lock: Lockfile,
  sources: SuiteSource[],
  cacheDir: string,
  options: { signal?: AbortSignal; concurrency?: number; onFetched?: (done: number, total: number) => void } = {},
): Promise<FetchedPackage[]> {
  const mirrors = new Map(sources.map((s) => [s.suite, s.mirror]));
  const limit = pLimit(options.concurrency ?? 6);
  let done = 0;
  return Promise.all(
    lock.packages.map((locked) =>
      limit(async () => {
        const mirror = mirrors.get(locked.suite);
        if (!mirror) throw new PermanentError(`lockfile for ${lock.arch}: package ${locked.name} is from suite ${locked.suite}, which the lockfile does not list`);
        const what = `package ${locked.name} ${locked.version} (${lock.arch})`;
        const bytes = await fetchDeb({ ...locked, mirror }, cacheDir, options.signal);
        const contents = await readDeb(bytes, what);
        options.onFetched?.(++done, lock.packages.length);
        return { locked, contents };
      }),
    ),
  );
}
