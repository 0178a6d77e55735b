import path from 'node:path';

/** One thing wrong with a recipe file, at a place in it (1-based line and column). */
export interface Problem {
  file: string;
  line: number;
  col: number;
  message: string;
}

/** `file:line:col: message`, the form editors and CI annotations understand. */
export function formatProblem(p: Problem, options: { relativeTo?: string } = {}): string {
  const file = options.relativeTo === undefined ? p.file : displayPath(p.file, options.relativeTo);
  return `${file}:${p.line}:${p.col}: ${p.message}`;
}

/** A path under `base` relative to it (as editors and CI expect); other paths unchanged. */
export function displayPath(file: string, base: string): string {
  const relative = path.relative(base, file);
  return relative && !relative.startsWith('..') && !path.isAbsolute(relative) ? relative : file;
}

/** Orders problems by file, then position, so output is stable. */
export function compareProblems(a: Problem, b: Problem): number {
  return (
    (a.file < b.file ? -1 : a.file > b.file ? 1 : 0) ||
    a.line - b.line ||
    a.col - b.col ||
    (a.message < b.message ? -1 : a.message > b.message ? 1 : 0)
  );
}
