import type { Config } from '../../config.ts';
import { PermanentError } from '../../errors.ts';
import { loadArchive, type ArchiveIndex } from '../../debian/archive.ts';
import { lockfileOf, type Lockfile } from '../../debian/lockfile.ts';
import { PackageSet } from '../../debian/package-set.ts';
import { resolve } from '../../debian/resolver.ts';
import { hostSuiteSources } from '../../debian/sources.ts';
import { upstreamOf } from '../../debian/version.ts';
import type { Recipe, RecipeContents } from '../../recipe/schema.ts';

/** Where the archive is read from and cached: from kiln's configuration, or a test's own. */
export interface ArchiveSettings {
  cacheDir: string;
  debianMirror?: string | readonly string[] | undefined;
  debianSecurityMirror?: string | readonly string[] | undefined;
  debianKeyring?: string | undefined;
}

/** The archive settings of kiln's configuration (KILN_DEBIAN_MIRROR…, KILN_CACHE_DIR). */
export function archiveSettingsFromConfig(
  c: Pick<Config, 'cacheDir' | 'debianMirror' | 'debianSecurityMirror' | 'debianKeyring'>,
): ArchiveSettings {
  return {
    cacheDir: c.cacheDir,
    debianMirror: c.debianMirror,
    debianSecurityMirror: c.debianSecurityMirror,
    debianKeyring: c.debianKeyring,
  };
}

export function contentsOf(recipe: Recipe): RecipeContents {
  const contents = recipe.build.contents;
  if (!contents)
    throw new PermanentError(`recipe ${recipe.name}: the debian builder needs build.contents`);
  return contents;
}

/** `bookworm-security` → `bookworm`: suites of one release share a codename. */
function codenameOf(suite: string): string {
  return suite.split(/[-/]/)[0] ?? suite;
}

/** The recipe's suites grouped by release, in recipe order. */
export function suiteGroups(suites: string[]): string[][] {
  const groups = new Map<string, string[]>();
  for (const s of suites) groups.set(codenameOf(s), [...(groups.get(codenameOf(s)) ?? []), s]);
  return [...groups.values()];
}

/** Whether a Debian version belongs to a requested upstream version (`3.11` matches `3.11.2-6`). */
export function versionMatches(debianVersion: string, wanted: string): boolean {
  if (debianVersion === wanted) return true;
  const up = upstreamOf(debianVersion);
  return (
    up === wanted ||
    up.startsWith(`${wanted}.`) ||
    up.startsWith(`${wanted}+`) ||
    up.startsWith(`${wanted}~`)
  );
}

/**
 * Loads the archive and resolves one lockfile per arch. A recipe whose suites span several
 * releases (e.g. bookworm and trixie, one per stream) builds from the one release whose
 * `upstream.debian.package` matches the requested version; releases never mix in one image.
 */
export async function resolveLockfiles(
  recipe: Recipe,
  version: string,
  archs: string[],
  settings: ArchiveSettings,
  signal?: AbortSignal,
): Promise<Map<string, Lockfile>> {
  const contents = contentsOf(recipe);
  const groups = suiteGroups(contents.suites);
  const load = async (suites: string[]): Promise<ArchiveIndex> =>
    loadArchive({
      sources: await hostSuiteSources(suites, settings),
      components: contents.components,
      archs,
      cacheDir: settings.cacheDir,
      signal,
    });
  let chosen: { suites: string[]; index: ArchiveIndex } | undefined;
  // Without a version (a bare `kiln build`), the first release listed is the recipe's default.
  if ((groups.length === 1 || version === '' || version === 'latest') && groups[0]) {
    chosen = { suites: groups[0], index: await load(groups[0]) };
  } else {
    const pkg = recipe.upstream.debian?.package ?? contents.packages[0]?.split('=')[0] ?? '';
    for (const suites of groups) {
      const index = await load(suites);
      const firstArch = archs[0] ?? 'amd64';
      if (
        index.packages
          .get(firstArch)
          ?.named(pkg)
          .some((p) => versionMatches(p.version, version))
      ) {
        chosen = { suites, index };
        break;
      }
    }
    if (!chosen) {
      throw new PermanentError(
        `recipe ${recipe.name}: no release among ${groups.map((g) => g[0]).join(', ')} ships ${pkg} at version ${version}`,
      );
    }
  }
  const out = new Map<string, Lockfile>();
  for (const arch of archs) {
    const resolution = resolve({
      arch,
      available: chosen.index.packages.get(arch) ?? new PackageSet([]),
      packages: contents.packages,
      exclude: contents.exclude,
    });
    out.set(arch, lockfileOf(arch, chosen.suites, resolution.packages, resolution.cut));
  }
  return out;
}
