import { realpath } from 'node:fs/promises';
import path from 'node:path';
import type { Finding } from './issues.ts';
import type { Recipe } from './schema.ts';

/*
 * A Dockerfile recipe's `context` and `path` must lie inside the recipe's own folder: a context
 * of `/` or `../..` would let `COPY` put any host file (the signing key) into a published image.
 * Checked lexically when the recipe loads (no absolute path, no `..` climbing out), and against
 * the file system by `kiln lint` and again at build time (no symlink leading out).
 */

const fields = ['context', 'path'] as const;

/** Why `value` (relative to the recipe's folder) leaves it, judged on the text alone; else undefined. */
export function lexicalEscape(value: string): string | undefined {
  if (path.isAbsolute(value)) return 'is an absolute path';
  const normal = path.normalize(value);
  if (normal === '..' || normal.startsWith(`..${path.sep}`)) return 'climbs out with `..`';
  return undefined;
}

/** Findings for `build.dockerfile.context` / `.path` that leave the recipe's folder on paper. */
export function dockerfilePathFindings(recipe: Recipe): Finding[] {
  const spec = recipe.build.dockerfile;
  if (!spec) return [];
  const out: Finding[] = [];
  for (const field of fields) {
    const why = lexicalEscape(spec[field]);
    if (why)
      out.push({
        path: ['build', 'dockerfile', field],
        anchor: 'value',
        message: `build.dockerfile.${field}: ${JSON.stringify(spec[field])} ${why}: it must lie inside the recipe's folder`,
      });
  }
  return out;
}

/**
 * The real path of `value` under `recipeDir` when it stays inside it (symlinks resolved), or a
 * reason it does not. A path that does not exist yet is judged by its nearest existing folder.
 */
export async function resolveInside(
  recipeDir: string,
  value: string,
): Promise<{ ok: true; real: string | undefined } | { ok: false; why: string }> {
  const lexical = lexicalEscape(value);
  if (lexical) return { ok: false, why: lexical };
  const root = await realpath(recipeDir);
  const wanted = path.resolve(recipeDir, value);
  // A path that does not exist (yet) is judged by its nearest existing folder.
  let probe = wanted;
  let real: string | undefined;
  for (;;) {
    real = await realpath(probe).catch(() => undefined);
    if (real !== undefined || probe === path.dirname(probe)) break;
    probe = path.dirname(probe);
  }
  if (real === undefined) return { ok: true, real };
  const rel = path.relative(root, real);
  if (rel === '..' || rel.startsWith(`..${path.sep}`) || path.isAbsolute(rel))
    return { ok: false, why: `leads out through a symlink (to ${real})` };
  return { ok: true, real: probe === wanted ? real : undefined };
}

/** Findings for context / path that leave the recipe's folder through a symlink. */
export async function dockerfileSymlinkFindings(
  recipe: Recipe,
  recipeFile: string,
): Promise<Finding[]> {
  const spec = recipe.build.dockerfile;
  if (!spec) return [];
  const recipeDir = path.dirname(path.resolve(recipeFile));
  const out: Finding[] = [];
  for (const field of fields) {
    if (lexicalEscape(spec[field])) continue; // already reported when the recipe loaded
    const r = await resolveInside(recipeDir, spec[field]);
    if (!r.ok)
      out.push({
        path: ['build', 'dockerfile', field],
        anchor: 'value',
        message: `build.dockerfile.${field}: ${JSON.stringify(spec[field])} ${r.why}: it must lie inside the recipe's folder`,
      });
  }
  return out;
}
