import { execa } from 'execa';
import { PermanentError, TransientError } from '../errors.ts';
import { maskSecrets, type Logger } from '../log.ts';
import { descendantsOf, signalAll } from './process-tree.ts';

/** How a build tool is run: always an argument array, never a shell. */
export interface ToolRun {
  /** What is being done, to what: the start of every error message ("building hello 1.2.3 for amd64"). */
  what: string;
  /** The program; looked up on PATH. */
  file: string;
  /** What the messages and logs call the program; default `file` (e.g. `buildah` run by `bwrap`). */
  label?: string;
  /** Its arguments, passed verbatim: quotes and shell metacharacters mean nothing here. */
  args: readonly string[];
  cwd?: string;
  /** Extra environment variables, on top of kiln's own environment unless `extendEnv` is false. */
  env?: Record<string, string>;
  extendEnv?: boolean;
  /** Fired on cancellation: the whole process tree is killed. */
  signal?: AbortSignal;
  /** Wall-clock limit; over it the whole process tree is killed and the run fails as transient. */
  timeoutMs?: number;
  /** Between SIGTERM and SIGKILL when killing; default 3 s. */
  graceMs?: number;
  /** Each output line goes here at debug level, bound with the tool's name. */
  log?: Logger;
  /** Each output line (stdout and stderr interleaved), e.g. into the job's log. */
  onLine?: (line: string) => void;
  /** How many last output lines the error carries; default 30. */
  tailLines?: number;
  /** Decides what a non-zero exit means; default permanent (a failing RUN is the recipe's fault). */
  classify?: (failure: { exitCode: number; tail: readonly string[] }) => 'permanent' | 'transient';
}

export interface ToolResult {
  /** The last output lines (at most `tailLines`). */
  tail: string[];
  durationMs: number;
}

/**
 * Runs a build tool in its own process group and streams its output. On timeout or abort the
 * whole tree is killed (SIGTERM, then SIGKILL); exit status and last output lines become the error.
 */
export async function runTool(run: ToolRun): Promise<ToolResult> {
  const started = Date.now();
  const tail: string[] = [];
  if (run.signal?.aborted) throw cancelled(run, tail);
  const child = spawnTool(run);
  const stopper = watchForStop(run, child);
  try {
    await streamLines(run, child, tail);
    const result = await child;
    // Whatever the tool left behind in its group (a daemonised helper) goes with it.
    if (child.pid !== undefined) signalAll(child.pid, [], 'SIGKILL');
    const failure = failureOf(run, result, stopper.stopping(), tail);
    if (failure) throw failure;
    return { tail, durationMs: Date.now() - started };
  } finally {
    stopper.dispose();
  }
}

type ToolProcess = ReturnType<typeof spawnTool>;

function spawnTool(run: ToolRun) {
  return execa(run.file, [...run.args], {
    cwd: run.cwd,
    env: run.env,
    extendEnv: run.extendEnv ?? true,
    // A new process group, so kill(-pid) reaches what the tool starts.
    detached: true,
    stdin: 'ignore',
    all: true,
    buffer: false,
    reject: false,
    stripFinalNewline: false,
  });
}

/** Kills the tree on timeout or abort; says which stopped it, and disposes of its timer. */
function watchForStop(run: ToolRun, child: ToolProcess) {
  const pid = child.pid;
  let stopping: 'timeout' | 'abort' | undefined;
  const stop = (why: 'timeout' | 'abort'): void => {
    if (stopping || pid === undefined) return;
    stopping = why;
    void killTree(pid, run.graceMs ?? 3000).then(async () => {
      // Something that escaped the tree (double-forked before the scan) may still hold the
      // output pipes open; stop reading them so the run ends all the same.
      await new Promise((resolve) => setTimeout(resolve, 2000).unref());
      child.stdout?.destroy();
      child.stderr?.destroy();
    });
  };
  const timer =
    run.timeoutMs === undefined ? undefined : setTimeout(() => stop('timeout'), run.timeoutMs);
  const onAbort = (): void => stop('abort');
  run.signal?.addEventListener('abort', onAbort, { once: true });
  return {
    stopping: () => stopping,
    dispose: () => {
      if (timer) clearTimeout(timer);
      run.signal?.removeEventListener('abort', onAbort);
    },
  };
}

/** Every output line, masked, into the tail, the debug log and `onLine`. */
async function streamLines(run: ToolRun, child: ToolProcess, tail: string[]): Promise<void> {
  const tailLines = run.tailLines ?? 30;
  const toolLog = run.log?.child({ tool: run.label ?? run.file });
  for await (const raw of child.iterable({ from: 'all' })) {
    const line = maskSecrets(String(raw));
    tail.push(line);
    if (tail.length > tailLines) tail.shift();
    toolLog?.debug(line);
    run.onLine?.(line);
  }
}

/** The error a finished run ends in, or undefined when it succeeded. */
function failureOf(
  run: ToolRun,
  result: Awaited<ToolProcess>,
  stopping: 'timeout' | 'abort' | undefined,
  tail: string[],
): Error | undefined {
  const name = run.label ?? run.file;
  if (stopping === 'timeout') {
    return new TransientError(
      `${run.what}: timed out after ${Math.round((run.timeoutMs ?? 0) / 1000)} s; ${name} and its children were killed${lastLines(tail)}`,
    );
  }
  if (stopping === 'abort') return cancelled(run, tail);
  if (result.failed && result.exitCode === undefined && !result.signal) {
    return new PermanentError(`${run.what}: could not start ${name}`, {
      cause: result.cause ?? result,
    });
  }
  if (result.exitCode !== 0) {
    const exitCode = result.exitCode ?? -1;
    const status = result.signal
      ? `was killed by ${result.signal}`
      : `exited with status ${exitCode}`;
    const message = `${run.what}: ${name} ${status}${lastLines(tail)}`;
    const kind = run.classify?.({ exitCode, tail }) ?? 'permanent';
    return kind === 'transient' ? new TransientError(message) : new PermanentError(message);
  }
  return undefined;
}

function cancelled(run: ToolRun, tail: readonly string[]): TransientError {
  return new TransientError(
    `${run.what}: cancelled; ${run.label ?? run.file} and its children were killed${lastLines(tail)}`,
    {
      cause: run.signal?.reason,
    },
  );
}

function lastLines(tail: readonly string[]): string {
  return tail.length === 0 ? '' : `. Last output:\n${tail.join('\n')}`;
}

/** SIGTERM to the group and every descendant, then SIGKILL to all of them and any new ones. */
async function killTree(pid: number, graceMs: number): Promise<void> {
  const seen = new Set(await descendantsOf(pid));
  signalAll(pid, seen, 'SIGTERM');
  await new Promise((resolve) => setTimeout(resolve, graceMs));
  for (const p of await descendantsOf(pid)) seen.add(p);
  signalAll(pid, seen, 'SIGKILL');
}

/** The PATH every isolated tool gets: the system's folders, never kiln's own PATH. */
export const toolPath = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/**
 * A clean, explicit environment for a build tool (use with `extendEnv: false`): PATH, HOME and
 * TMPDIR in folders the caller owns, a C locale, and only the `extra` variables it names. Nothing
 * of kiln's own environment (KILN_*, tokens, GITHUB_TOKEN, proxies) reaches the tool.
 */
export function isolatedEnv(options: {
  home: string;
  tmpDir: string;
  extra?: Record<string, string>;
}): Record<string, string> {
  return {
    PATH: toolPath,
    HOME: options.home,
    TMPDIR: options.tmpDir,
    LANG: 'C.UTF-8',
    LC_ALL: 'C.UTF-8',
    TZ: 'UTC',
    ...options.extra,
  };
}
