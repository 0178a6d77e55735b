import pLimit from 'p-limit';
import { PermanentError } from '../../errors.ts';
import { fetchDeb } from '../../debian/deb-cache.ts';
import type { Lockfile, LockedPackage } from '../../debian/lockfile.ts';
import type { SuiteSource } from '../../debian/sources.ts';

export interface FetchedDeb {
  locked: LockedPackage;
  /** The .deb's bytes, already checked against the lockfile's SHA256. */
  bytes: Buffer;
}

/**
 * Downloads (or takes from the cache) every package of a lockfile, a few at a time. Each .deb
 * is checked against the lockfile's SHA256 before anything reads it, cached layers or not.
 */
export async function fetchDebs(
  lock: Lockfile,
  sources: SuiteSource[],
  cacheDir: string,
  options: { signal?: AbortSignal; concurrency?: number } = {},
): Promise<FetchedDeb[]> {
  const mirrors = new Map(sources.map((s) => [s.suite, s.mirrors]));
  const limit = pLimit(options.concurrency ?? 6);
  return Promise.all(
    lock.packages.map((locked) =>
      limit(async () => {
        const suiteMirrors = mirrors.get(locked.suite);
        if (!suiteMirrors)
          throw new PermanentError(
            `lockfile for ${lock.arch}: package ${locked.name} is from suite ${locked.suite}, which the lockfile does not list`,
          );
        return {
          locked,
          bytes: await fetchDeb({ ...locked, mirrors: suiteMirrors }, cacheDir, options.signal),
        };
      }),
    ),
  );
}
