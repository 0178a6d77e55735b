import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import semver from 'semver';
import { PermanentError } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { RecipePatch } from '../recipe/schema.ts';

/*
 * Delta minimisation: a recipe's patches are applied, in order, to the upstream source with
 * GNU `patch -p1`. Each is tried with --dry-run first, so a patch that no longer applies leaves
 * the tree untouched and the error names the patch and the rejected hunk. A patch whose `until`
 * version has been reached is skipped and reported, so the maintainer can delete it.
 */

export interface ApplyPatchesOptions {
  patches: readonly RecipePatch[];
  /** Patch files are relative to the recipe file's folder. */
  recipeDir: string;
  /** The unpacked upstream source (the `-p1` root). */
  sourceDir: string;
  /** The upstream version being built, compared with each patch's `until`. */
  version: string;
  /** Orders versions as the recipe's scheme does; default: semver, coercing loose versions. */
  compare?: (a: string, b: string) => number;
  /** What is being patched, for messages: "hello 1.2.3". */
  subject: string;
  log?: Logger;
  signal?: AbortSignal;
}

export interface SkippedPatch {
  file: string;
  until: string;
  reason: string;
}

export interface PatchReport {
  applied: string[];
  /** Patches no longer needed: upstream has shipped the fix. */
  skipped: SkippedPatch[];
}

export async function applyPatches(options: ApplyPatchesOptions): Promise<PatchReport> {
  const compare = options.compare ?? compareLoose;
  const report: PatchReport = { applied: [], skipped: [] };
  for (const patch of options.patches) {
    if (patch.until !== undefined && compare(options.version, patch.until) >= 0) {
      report.skipped.push({ file: patch.file, until: patch.until, reason: patch.reason });
      options.log?.warn(
        { patch: patch.file, until: patch.until, version: options.version },
        `patch ${patch.file} is no longer needed from ${patch.until} on: skipped; delete it from the recipe`,
      );
      continue;
    }
    const file = path.resolve(options.recipeDir, patch.file);
    const text = await readFile(file, 'utf8').catch((cause: unknown) => {
      throw new PermanentError(`patching ${options.subject}: cannot read patch ${patch.file}`, {
        cause,
      });
    });
    const base = [
      '-p1',
      '--batch',
      '--forward',
      '--no-backup-if-mismatch',
      '--reject-file=-',
      '-i',
      file,
    ];
    const dry = await runPatch([...base, '--dry-run'], options);
    if (dry.exitCode !== 0) {
      throw new PermanentError(
        `patching ${options.subject}: ${describeRejection(patch.file, text, dry.output)}`,
      );
    }
    const real = await runPatch(base, options);
    if (real.exitCode !== 0) {
      throw new PermanentError(
        `patching ${options.subject}: ${describeRejection(patch.file, text, real.output)}`,
      );
    }
    report.applied.push(patch.file);
    options.log?.info({ patch: patch.file }, 'patch applied');
  }
  return report;
}

async function runPatch(
  args: string[],
  options: ApplyPatchesOptions,
): Promise<{ exitCode: number; output: string }> {
  const result = await execa('patch', args, {
    cwd: options.sourceDir,
    all: true,
    reject: false,
    stdin: 'ignore',
    cancelSignal: options.signal,
    timeout: 120_000,
  });
  if (result.exitCode === undefined) {
    throw new PermanentError(`patching ${options.subject}: could not run patch`, {
      cause: result.cause,
    });
  }
  return { exitCode: result.exitCode, output: result.all ?? '' };
}

/** "patch X no longer applies: hunk #2 of src/a.c (@@ -10,7 +10,7 @@) was rejected at line 10" and the hunk. */
export function describeRejection(patchFile: string, patchText: string, output: string): string {
  const lines = output.split('\n');
  let current = '';
  const problems: string[] = [];
  for (const line of lines) {
    const file = /^(?:checking|patching) file (.+)$/.exec(line);
    if (file?.[1]) current = file[1].replace(/^'(.*)'$/, '$1');
    const failed = /^Hunk #(\d+) FAILED at (\d+)/.exec(line);
    if (failed?.[1]) {
      const number = Number(failed[1]);
      const hunk = hunksOf(patchText).find((h) => h.file === current && h.number === number);
      problems.push(
        `hunk #${number} of ${current}${hunk ? ` (${hunk.header})` : ''} was rejected at line ${failed[2]}` +
          (hunk ? `:\n${hunk.body.slice(0, 12).join('\n')}` : ''),
      );
    }
    if (/Reversed \(or previously applied\) patch detected/.test(line)) {
      problems.push(
        `${current} already contains this change (upstream fixed it? set \`until\` or delete the patch)`,
      );
    }
    if (/can't find file to patch/.test(line))
      problems.push('a file it patches does not exist in the source');
  }
  if (problems.length === 0) problems.push(lines.filter(Boolean).slice(-5).join('\n'));
  return `patch ${patchFile} no longer applies: ${problems.join('; ')}`;
}

interface Hunk {
  file: string;
  number: number;
  header: string;
  body: string[];
}

/** The hunks of a unified diff, with the `-p1` path of the file each one changes. */
export function hunksOf(patchText: string): Hunk[] {
  const hunks: Hunk[] = [];
  let file = '';
  let number = 0;
  let current: Hunk | undefined;
  for (const line of patchText.split('\n')) {
    const target = /^\+\+\+ (\S+)/.exec(line);
    if (target?.[1]) {
      file = target[1].split('/').slice(1).join('/');
      number = 0;
      current = undefined;
      continue;
    }
    if (line.startsWith('@@')) {
      number += 1;
      current = { file, number, header: line.replace(/^(@@ [^@]+ @@).*$/, '$1'), body: [line] };
      hunks.push(current);
      continue;
    }
    if (current && /^[ +\-\\]/.test(line)) current.body.push(line);
  }
  return hunks;
}

/** Semver order, with loose versions (`1.2`, `v3`, `2024.01.5`) coerced; equal when neither parses. */
export function compareLoose(a: string, b: string): number {
  const va = semver.valid(a, { loose: true }) ?? semver.coerce(a)?.version;
  const vb = semver.valid(b, { loose: true }) ?? semver.coerce(b)?.version;
  if (!va || !vb) return a === b ? 0 : a < b ? -1 : 1;
  return semver.compare(va, vb, { loose: true });
}
