import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { PermanentError } from '../errors.ts';
import type { TestOutcome } from '../model/build-result.ts';
import type { RecipeTest } from '../recipe/schema.ts';

/** What {@link runImageTests} needs: an unpacked root and the recipe's tests. */
export interface ImageTestOptions {
  /** Folder holding the unpacked image (see unpackLayout). */
  rootfs: string;
  tests: RecipeTest[];
  /** The image's environment, `KEY=value` or a record. */
  env?: Record<string, string> | string[];
  /** `uid[:gid]` the image runs as; tests run as that user. */
  user?: string;
  /** Working folder inside the image. */
  workdir?: string;
  signal?: AbortSignal;
  /** Per-test time limit. */
  timeoutMs?: number;
  /** Each output line, for the job's log. */
  onLogLine?: (line: string) => void;
}

function envRecord(env: ImageTestOptions['env']): Record<string, string> {
  if (!env) return {};
  if (!Array.isArray(env)) return env;
  const out: Record<string, string> = {};
  for (const kv of env) {
    const eq = kv.indexOf('=');
    if (eq > 0) out[kv.slice(0, eq)] = kv.slice(eq + 1);
  }
  return out;
}

/** The bwrap arguments: every namespace unshared (so no network), the root read-only. */
export function bwrapArgs(
  options: Pick<ImageTestOptions, 'rootfs' | 'env' | 'user' | 'workdir'>,
  command: string[],
): string[] {
  const [uid = '0', gid] = (options.user ?? '0').split(':');
  const numeric = (v: string | undefined, fallback: string): string =>
    v !== undefined && /^\d+$/.test(v) ? v : fallback;
  const args = [
    '--unshare-all',
    '--die-with-parent',
    '--new-session',
    '--ro-bind',
    options.rootfs,
    '/',
    '--proc',
    '/proc',
    '--dev',
    '/dev',
    '--tmpfs',
    '/tmp',
    '--uid',
    numeric(uid, '0'),
    '--gid',
    numeric(gid, numeric(uid, '0')),
    '--clearenv',
  ];
  const env = { HOME: '/', ...envRecord(options.env) };
  for (const [k, v] of Object.entries(env).sort(([a], [b]) => (a < b ? -1 : 1)))
    args.push('--setenv', k, v);
  args.push('--chdir', options.workdir ?? '/', '--', ...command);
  return args;
}

/**
 * Runs each test command inside the image with bubblewrap: no network, read-only root, a
 * private /tmp, as the image's user. A failing test (non-zero exit, or output without the
 * expected text) throws a PermanentError carrying its output; passing tests are returned.
 */
export async function runImageTests(options: ImageTestOptions): Promise<TestOutcome[]> {
  // bwrap mounts /proc, /dev and /tmp over the read-only root: the mount points must exist.
  // A minimal image may lack them; the unpacked copy is ours to add them to.
  for (const dir of ['proc', 'dev', 'tmp'])
    await mkdir(path.join(options.rootfs, dir), { recursive: true });
  const outcomes: TestOutcome[] = [];
  for (const [i, test] of options.tests.entries()) {
    const name = test.name ?? test.run.join(' ');
    const result = await execa('bwrap', bwrapArgs(options, test.run), {
      reject: false,
      all: true,
      cancelSignal: options.signal,
      timeout: options.timeoutMs ?? 120_000,
      stdin: 'ignore',
    });
    const output = (result.all ?? '').slice(-8000);
    for (const line of output.split('\n')) if (line) options.onLogLine?.(`[test ${name}] ${line}`);
    if (options.signal?.aborted) throw options.signal.reason;
    const expected = test['expect-output'];
    if (
      result.exitCode !== 0 ||
      result.timedOut ||
      (expected !== undefined && !output.includes(expected))
    ) {
      const why = result.timedOut
        ? 'timed out'
        : result.exitCode !== 0
          ? `exited with ${result.exitCode ?? result.signal ?? 'no code'}`
          : `its output lacks ${JSON.stringify(expected)}`;
      throw new PermanentError(
        `image test ${i + 1} (${name}) failed: ${why}\n--- output ---\n${output}`,
      );
    }
    outcomes.push({ name, status: 'passed' });
  }
  return outcomes;
}
