import { createHash } from 'node:crypto';
import { cp, readFile } from 'node:fs/promises';
import path from 'node:path';
import { PermanentError } from '../../errors.ts';
import type { Logger } from '../../log.ts';
import type { BuildMaterial } from '../../model/build-result.ts';
import { resolveInside } from '../../recipe/dockerfile-paths.ts';
import type { Recipe } from '../../recipe/schema.ts';
import { compare, valid } from '../../versioning/scheme.ts';
import { applyPatches, compareLoose, type PatchReport } from '../patches.ts';
import { fetchFiles, type FetchedFile, type FileSources } from './fetch-files.ts';

export interface PreparedContext {
  /** The recipe's context; a private copy when upstream files are fetched (and patched) into it. */
  contextDir: string;
  /** Absolute path of the recipe's Dockerfile (read in place). */
  dockerfile: string;
  materials: BuildMaterial[];
  patches: PatchReport;
}

export interface ContextOptions {
  recipe: Recipe;
  recipeFile: string;
  version: string;
  workDir: string;
  /** Where `npm:` and `github:` files come from. */
  sources: FileSources;
  signal?: AbortSignal;
  log?: Logger;
  /** Lines for the job's log (e.g. a patch that is no longer needed). */
  onLogLine?: (line: string) => void;
}

/**
 * Readies the recipe's build context: when the recipe fetches files, a private copy in the work
 * folder receives them (checksums checked) and the recipe's patches are applied to the unpacked
 * upstream source.
 */
export async function prepareContext(options: ContextOptions): Promise<PreparedContext> {
  const { recipe } = options;
  const spec = recipe.build.dockerfile;
  if (!spec)
    throw new PermanentError(
      `recipe ${recipe.name}: builder dockerfile needs a build.dockerfile section`,
    );
  const recipeDir = path.dirname(path.resolve(options.recipeFile));
  const sourceContext = await insideRecipe(recipe, recipeDir, 'context');
  const dockerfile = await insideRecipe(recipe, recipeDir, 'path');
  const contextDir = await writableContext(options, sourceContext);
  const dockerfileBytes = await readFile(dockerfile).catch((cause: unknown) => {
    throw new PermanentError(`recipe ${recipe.name}: cannot read Dockerfile ${spec.path}`, {
      cause,
    });
  });
  const fetched = await fetchFiles(recipe.build.files, {
    ...options.sources,
    version: options.version,
    contextDir,
    signal: options.signal,
    log: options.log,
  });
  const patches = await patchSource(options, recipeDir, fetched);
  const materials: BuildMaterial[] = [
    ...fetched.map((f) => f.material),
    ...(await patchMaterials(recipeDir, patches)),
    {
      uri: `file:${path.relative(recipeDir, dockerfile) || path.basename(dockerfile)}`,
      digest: { sha256: createHash('sha256').update(dockerfileBytes).digest('hex') },
      name: 'Dockerfile',
    },
  ];
  return { contextDir, dockerfile, materials, patches };
}

/**
 * The real path of the recipe's `build.dockerfile.<field>`. Both must lie inside the recipe's
 * folder, symlinks resolved: a context of `/` (or a link to it) would let COPY put any host file
 * into the image.
 */
async function insideRecipe(
  recipe: Recipe,
  recipeDir: string,
  field: 'context' | 'path',
): Promise<string> {
  const value = recipe.build.dockerfile?.[field] ?? '';
  const r = await resolveInside(recipeDir, value);
  if (!r.ok)
    throw new PermanentError(
      `recipe ${recipe.name}: build.dockerfile.${field} ${JSON.stringify(value)} ${r.why}: it must lie inside the recipe's folder`,
    );
  return r.real ?? path.resolve(recipeDir, value);
}

/**
 * The tools only read the context: it is copied (into the private work folder) only when kiln
 * must write into it, i.e. fetch upstream files and patch them.
 */
async function writableContext(options: ContextOptions, sourceContext: string): Promise<string> {
  const { recipe } = options;
  if ((recipe.build.files?.length ?? 0) === 0) return sourceContext;
  const contextDir = path.join(options.workDir, 'context');
  // Links are copied as they are (Node would otherwise rewrite relative ones to absolute
  // paths into the recipe's folder); fetch-files refuses to write through any of them.
  await cp(sourceContext, contextDir, { recursive: true, verbatimSymlinks: true }).catch(
    (cause: unknown) => {
      throw new PermanentError(
        `recipe ${recipe.name}: cannot copy build context ${recipe.build.dockerfile?.context}`,
        { cause },
      );
    },
  );
  return contextDir;
}

/** Applies the recipe's patches to the unpacked upstream source (the file with `extract: true`). */
async function patchSource(
  options: ContextOptions,
  recipeDir: string,
  fetched: readonly FetchedFile[],
): Promise<PatchReport> {
  const { recipe } = options;
  if (recipe.patches.length === 0) return { applied: [], skipped: [] };
  const source = fetched.find((f) => f.extracted);
  if (!source)
    throw new PermanentError(
      `recipe ${recipe.name}: patches need an upstream source (a file with extract: true)`,
    );
  const scheme = recipe.versions.scheme;
  const patches = await applyPatches({
    patches: recipe.patches,
    recipeDir,
    sourceDir: source.localPath,
    version: options.version,
    subject: `${recipe.name} ${options.version}`,
    compare: (a, b) =>
      valid(scheme, a) && valid(scheme, b) ? compare(scheme, a, b) : compareLoose(a, b),
    log: options.log,
    signal: options.signal,
  });
  for (const skipped of patches.skipped) {
    options.onLogLine?.(
      `patch ${skipped.file} skipped: upstream ${options.version} has reached its until ${skipped.until}; delete it from the recipe`,
    );
  }
  return patches;
}

/** Each applied patch, by its digest, for provenance. */
async function patchMaterials(recipeDir: string, patches: PatchReport): Promise<BuildMaterial[]> {
  const out: BuildMaterial[] = [];
  for (const file of patches.applied) {
    const bytes = await readFile(path.resolve(recipeDir, file));
    out.push({
      uri: `file:${file}`,
      digest: { sha256: createHash('sha256').update(bytes).digest('hex') },
      name: `patch ${file}`,
    });
  }
  return out;
}
