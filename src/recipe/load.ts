import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { LineCounter, parseDocument, type Document } from 'yaml';
import type { Selection } from '../versioning/select.ts';
import { findingsFromIssues, type Finding } from './issues.ts';
import { positionOf, type Position } from './positions.ts';
import { compareProblems, type Problem } from './problem.ts';
import { recipeSchema, type Recipe } from './schema.ts';
import { semanticFindings } from './semantic-checks.ts';
import { expandVariants } from './variants.ts';

/** A recipe that passed validation, with the file it came from. */
export interface LoadedRecipe {
  /** Absolute path of the recipe file. */
  file: string;
  recipe: Recipe;
}

export interface LoadResult {
  recipes: LoadedRecipe[];
  problems: Problem[];
}

/** A parsed file: the recipe if valid, its problems, and where its `name` is (for duplicates). */
export interface ParsedRecipe {
  recipe?: Recipe | undefined;
  problems: Problem[];
  /** Where the name's value is, to point a duplicate-name problem at it. */
  namePosition?: Position | undefined;
  /** The YAML document and line table, to place later findings (lint with upstream data). */
  doc?: Document | undefined;
  counter?: LineCounter | undefined;
}

/** Gives findings their file positions. */
export function placeFindings(
  file: string,
  doc: Document,
  counter: LineCounter,
  findings: Finding[],
): Problem[] {
  return findings.map((f) => ({
    file,
    ...positionOf(doc, counter, f.path, f.anchor),
    message: f.message,
  }));
}

/**
 * Parses and validates one recipe's text. Pure apart from reading nothing: the file name only
 * labels the problems. YAML errors stop there; schema problems are all reported at once.
 */
export function parseRecipeSource(text: string, file: string, selection?: Selection): ParsedRecipe {
  const counter = new LineCounter();
  const doc = parseDocument(text, { lineCounter: counter, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    return {
      problems: doc.errors.map((e) => {
        const pos = e.linePos?.[0] ?? counter.linePos(e.pos[0]);
        return { file, line: pos.line, col: pos.col, message: `YAML: ${yamlMessage(e.message)}` };
      }),
    };
  }
  if (doc.contents === null)
    return { problems: [{ file, line: 1, col: 1, message: 'recipe is empty' }] };
  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: 100 });
  } catch (error) {
    // yaml refuses alias bombs ("billion laughs") while building the value.
    return {
      problems: [
        {
          file,
          line: 1,
          col: 1,
          message: `YAML: ${error instanceof Error ? error.message : String(error)}`,
        },
      ],
    };
  }
  const nameNode = doc.get('name', true);
  const namePosition =
    nameNode && typeof nameNode === 'object' && 'range' in nameNode && Array.isArray(nameNode.range)
      ? counter.linePos(Number(nameNode.range[0]))
      : undefined;
  const result = recipeSchema.safeParse(data, { reportInput: true });
  if (!result.success) {
    const problems = placeFindings(
      file,
      doc,
      counter,
      findingsFromIssues(result.error.issues, recipeSchema),
    ).sort(compareProblems);
    return { problems: dedupe(problems), namePosition, doc, counter };
  }
  const problems = placeFindings(file, doc, counter, semanticFindings(result.data, selection)).sort(
    compareProblems,
  );
  return {
    recipe: problems.length === 0 ? result.data : undefined,
    problems,
    namePosition,
    doc,
    counter,
  };
}

// yaml's messages end with " at line L, column C"; the position is already in front.
function yamlMessage(message: string): string {
  return (message.split('\n')[0] ?? message).replace(/ at line \d+, column \d+:?$/, '');
}

function dedupe(problems: Problem[]): Problem[] {
  const seen = new Set<string>();
  return problems.filter((p) => {
    const key = `${p.line}:${p.col}:${p.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** Reads, parses and validates one recipe file. A file that cannot be read is one problem. */
export async function loadRecipeFile(file: string): Promise<ParsedRecipe & { file: string }> {
  const absolute = path.resolve(file);
  let text: string;
  try {
    text = await readFile(absolute, 'utf8');
  } catch (error) {
    const reason = error instanceof Error && 'code' in error ? String(error.code) : String(error);
    return {
      file: absolute,
      problems: [{ file: absolute, line: 1, col: 1, message: `cannot read recipe (${reason})` }],
    };
  }
  return { file: absolute, ...parseRecipeSource(text, absolute) };
}

/** Recipe files under the given files and folders (folders: their `*.yaml` / `*.yml`, sorted). */
export async function recipeFiles(paths: readonly string[]): Promise<string[]> {
  const files: string[] = [];
  for (const p of paths) {
    const absolute = path.resolve(p);
    const info = await stat(absolute).catch(() => undefined);
    if (info?.isDirectory()) {
      const names = (await readdir(absolute)).filter((n) => /\.ya?ml$/.test(n)).sort();
      files.push(...names.map((n) => path.join(absolute, n)));
    } else {
      files.push(absolute);
    }
  }
  return [...new Set(files)];
}

/**
 * Loads every recipe under the paths. Broken files are reported and the others still load; a
 * name used twice is a problem on the later file (in path order), which is left out.
 */
export async function loadRecipes(paths: readonly string[]): Promise<LoadResult> {
  const parsed = await Promise.all((await recipeFiles(paths)).map(loadRecipeFile));
  return collect(parsed);
}

/**
 * Flags duplicate names across parsed files and gathers the result. Each recipe is followed by
 * its variants (src/recipe/variants.ts), whose names (`<name>-<variant>`) count as names too.
 */
export function collect(parsed: readonly (ParsedRecipe & { file: string })[]): LoadResult {
  const recipes: LoadedRecipe[] = [];
  const problems: Problem[] = [];
  const owners = new Map<string, string>();
  for (const p of parsed) {
    problems.push(...p.problems);
    if (!p.recipe) continue;
    const family = [p.recipe, ...expandVariants(p.recipe)];
    const clash = family.find((r) => owners.has(r.name));
    const owner = clash && owners.get(clash.name);
    if (clash && owner !== undefined) {
      const at = p.namePosition ?? { line: 1, col: 1 };
      const other = path.relative(path.dirname(p.file), owner) || path.basename(owner);
      const what = clash.variant
        ? `variant name \`${clash.name}\``
        : `recipe name \`${clash.name}\``;
      problems.push({
        file: p.file,
        line: at.line,
        col: at.col,
        message: `name: duplicate ${what} (also in ${other})`,
      });
      continue;
    }
    for (const recipe of family) {
      owners.set(recipe.name, p.file);
      recipes.push({ file: p.file, recipe });
    }
  }
  return { recipes, problems: problems.sort(compareProblems) };
}
