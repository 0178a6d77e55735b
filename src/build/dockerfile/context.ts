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
import { fetchFiles, type FileSources } from './fetch-files.ts';

export interface PreparedContext {
  /** The recipe's context; a private copy when upstream files are fetched (and patched) into it. */
  contextDir: string;
  /** Absolute path of the recipe's Dockerfile (read in place). */
  dockerfile: string;
  materials: BuildMaterial[];
  patches: PatchReport;
}

/**
 * Readies the recipe's build context: when the recipe fetches files, a private copy in the work
 * folder receives them (checksums checked) and the recipe's patches are applied to the unpacked
 * upstream source.
 */
export async function prepareContext(options: {
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
}): Promise<PreparedContext> {
  const { recipe } = options;
  const spec = recipe.build.dockerfile;
  if (!spec)
    throw new PermanentError(
      `recipe ${recipe.name}: builder dockerfile needs a build.dockerfile section`,
    );
  const recipeDir = path.dirname(path.resolve(options.recipeFile));
  // Both must lie inside the recipe's folder, symlinks resolved: a context of `/` (or a link
  // to it) would let COPY put any host file into the image.
  const inside = async (field: 'context' | 'path'): Promise<string> => {
    const r = await resolveInside(recipeDir, spec[field]);
    if (!r.ok)
      throw new PermanentError(
        `recipe ${recipe.name}: build.dockerfile.${field} ${JSON.stringify(spec[field])} ${r.why}: it must lie inside the recipe's folder`,
      );
    return r.real ?? path.resolve(recipeDir, spec[field]);
  };
  const sourceContext = await inside('context');
  const dockerfile = await inside('path');
  // The tools only read the context: it is copied (into the private work folder) only when
  // kiln must write into it, i.e. fetch upstream files and patch them.
  const writes = (recipe.build.files?.length ?? 0) > 0;
  const contextDir = writes ? path.join(options.workDir, 'context') : sourceContext;
  if (writes) {
    // Links are copied as they are (Node would otherwise rewrite relative ones to absolute
    // paths into the recipe's folder); fetch-files refuses to write through any of them.
    await cp(sourceContext, contextDir, { recursive: true, verbatimSymlinks: true }).catch(
      (cause: unknown) => {
        throw new PermanentError(
          `recipe ${recipe.name}: cannot copy build context ${spec.context}`,
          {
            cause,
          },
        );
      },
    );
  }
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
  const scheme = recipe.versions.scheme;
  let patches: PatchReport = { applied: [], skipped: [] };
  if (recipe.patches.length > 0) {
    const source = fetched.find((f) => f.extracted);
    if (!source)
      throw new PermanentError(
        `recipe ${recipe.name}: patches need an upstream source (a file with extract: true)`,
      );
    patches = await applyPatches({
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
  }
  const patchMaterials: BuildMaterial[] = [];
  for (const file of patches.applied) {
    const bytes = await readFile(path.resolve(recipeDir, file));
    patchMaterials.push({
      uri: `file:${file}`,
      digest: { sha256: createHash('sha256').update(bytes).digest('hex') },
      name: `patch ${file}`,
    });
  }
  const materials: BuildMaterial[] = [
    ...fetched.map((f) => f.material),
    ...patchMaterials,
    {
      uri: `file:${path.relative(recipeDir, dockerfile) || path.basename(dockerfile)}`,
      digest: { sha256: createHash('sha256').update(dockerfileBytes).digest('hex') },
      name: 'Dockerfile',
    },
  ];
  return { contextDir, dockerfile, materials, patches };
}
