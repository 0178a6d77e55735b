import type { LayerEntry } from '../../oci/tar.ts';
import type { Recipe } from '../../recipe/schema.ts';

/**
 * The recipe as one arch builds it: `${arch}` in a symlink's `source` is that arch's Debian name,
 * for links into per-arch folders (`/usr/lib/jvm/java-25-openjdk-${arch}`).
 */
export function recipeForArch(recipe: Recipe, arch: string): Recipe {
  const paths = recipe.build.paths;
  if (!paths?.some((p) => p.source?.includes('${arch}'))) return recipe;
  return {
    ...recipe,
    build: {
      ...recipe.build,
      paths: paths.map((p) =>
        p.source === undefined ? p : { ...p, source: p.source.replaceAll('${arch}', arch) },
      ),
    },
  };
}

/**
 * The recipe's `build.paths` as layer entries (paths relative to the root). They join the
 * recipe's `files` in the top layer, where image.ts places every entry through the packages'
 * symlinks (`/var/run/x` lands at `run/x`), so a folder never replaces a link of a lower layer.
 */
export function pathEntries(recipe: Recipe): LayerEntry[] {
  return (recipe.build.paths ?? []).map((p): LayerEntry => {
    const rel = p.path.replace(/^\/+|\/+$/g, '');
    const uid = p.uid ?? 0;
    const owner = { uid, gid: p.gid ?? uid };
    if (p.type === 'symlink')
      return { path: rel, type: 'symlink', mode: 0o777, linkname: p.source ?? '', ...owner };
    const mode = p.permissions
      ? parseInt(p.permissions, 8)
      : p.type === 'directory'
        ? 0o755
        : 0o644;
    return p.type === 'directory'
      ? { path: rel, type: 'directory', mode, ...owner }
      : { path: rel, type: 'file', mode, data: Buffer.from(p.content ?? ''), ...owner };
  });
}
