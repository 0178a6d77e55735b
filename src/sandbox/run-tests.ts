import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, open, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseDuration } from '../config.ts';
import { PermanentError } from '../errors.ts';
import type { TestOutcome } from '../model/build-result.ts';
import type { RecipeTest } from '../recipe/schema.ts';
import { LoopbackNet } from './loopback.ts';

/** A test's time limit when neither the recipe (`timeout`) nor the caller names one. */
export const defaultTestTimeoutMs = 120_000;

/**
 * What a test's limit is multiplied by when its image's arch is not the host's, so qemu-user
 * (binfmt_misc, TCG) runs every instruction: qemu's TCG is ~5–20× slower than native, and 5 is the
 * low end, so a hung test under emulation is still caught within minutes (120 s → 10 min); a
 * test that needs more says so with `timeout`, which is multiplied the same way.
 */
export const emulationFactor = 5;

/** node's `process.arch` → Debian's arch name, as recipes and builders name archs. */
const debianArchOf: Readonly<Record<string, string>> = {
  x64: 'amd64',
  arm64: 'arm64',
  arm: 'armhf',
  ia32: 'i386',
  ppc64: 'ppc64el',
  s390x: 's390x',
  riscv64: 'riscv64',
  loong64: 'loong64',
};

/** The host's arch in Debian's naming (`amd64`). */
export const hostArch = (): string => debianArchOf[process.arch] ?? process.arch;

/** One test's time limit and where it came from, for the log and a timeout's message. */
export interface TestLimit {
  ms: number;
  /** Whether the image's arch is not the host's: the test runs under qemu-user. */
  emulated: boolean;
  /** How the limit was reached, e.g. `timeout 5m × 5 (arm64 emulated on amd64)`. */
  describe: string;
}

const seconds = (ms: number): string => `${Number((ms / 1000).toFixed(1))} s`;

/**
 * A test's limit: its `timeout`, else the caller's `timeoutMs`, else 120 s; times
 * {@link emulationFactor} when `arch` is given and is not the host's.
 */
export function testLimit(
  test: Pick<RecipeTest, 'timeout'>,
  options: Pick<ImageTestOptions, 'timeoutMs' | 'arch' | 'hostArch'>,
): TestLimit {
  const base =
    test.timeout !== undefined
      ? { ms: parseDuration(test.timeout), what: `timeout ${test.timeout}` }
      : { ms: options.timeoutMs ?? defaultTestTimeoutMs, what: 'the default' };
  const host = options.hostArch ?? hostArch();
  const emulated = options.arch !== undefined && options.arch !== host;
  if (!emulated)
    return { ms: base.ms, emulated, describe: `${seconds(base.ms)} (${base.what}, native)` };
  const ms = base.ms * emulationFactor;
  return {
    ms,
    emulated,
    describe: `${seconds(ms)} (${base.what} × ${emulationFactor}: ${String(options.arch)} emulated by qemu on ${host})`,
  };
}

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
  /**
   * The tests' writable /tmp, when the root is not theirs to write (a cached root,
   * root-cache.ts): by default the unpacked copy's own `tmp`.
   */
  tmpDir?: string;
  signal?: AbortSignal;
  /** Per-test time limit for tests without `timeout` (default 120 s), before emulation's factor. */
  timeoutMs?: number;
  /**
   * The image's arch (Debian's name, `arm64`). When it is not the host's, the tests run under
   * qemu-user and each limit is multiplied by {@link emulationFactor}.
   */
  arch?: string;
  /** The host's arch, Debian's name; default this machine's (tests name another). */
  hostArch?: string;
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

const tmpOf = (options: Pick<ImageTestOptions, 'rootfs' | 'tmpDir'>): string =>
  options.tmpDir ?? path.join(options.rootfs, 'tmp');

/** The bwrap arguments: every namespace unshared (so no network), the root read-only. */
export function bwrapArgs(
  options: Pick<ImageTestOptions, 'rootfs' | 'env' | 'user' | 'workdir' | 'tmpDir'> & {
    /** Stay in the caller's network namespace (a {@link LoopbackNet} it entered). */
    shareNet?: boolean;
  },
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
    // The unpacked copy's own /tmp, writable and shared by the tests in order: one test's
    // `initdb` or `git init` is the next one's data.
    '--bind',
    tmpOf(options),
    '/tmp',
    ...(options.shareNet ? ['--share-net'] : []),
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

/** What one test printed and how its command ended. */
interface TestRun {
  exitCode?: number | undefined;
  signal?: string | undefined;
  timedOut: boolean;
  /** The ready probe's HTTP body (if any), then the command's output: what `expect-output` reads. */
  output: string;
  /** The service's output, for the log and a failure's message. */
  serviceOutput: string;
}

/**
 * Where a command's stdout and stderr go: one regular file, as a container runtime gives a
 * pipe or a file. Node's own pipes are sockets, and a program that opens /dev/stdout (nginx's
 * logs) cannot open a socket there.
 */
async function withOutputFile<T>(
  dir: string,
  run: (fd: number) => Promise<T>,
): Promise<{ value: T; text: string }> {
  const file = path.join(dir, `out-${randomUUID()}.log`);
  const handle = await open(file, 'a', 0o600);
  try {
    const value = await run(handle.fd);
    return { value, text: await readFile(file, 'utf8') };
  } finally {
    await handle.close();
    await rm(file, { force: true });
  }
}

/** How a command ended. */
interface Ended {
  exitCode: number | undefined;
  signal: string | undefined;
  timedOut: boolean;
}

/** A started command: awaitable for how it ended, killable. */
interface Spawned extends Promise<Ended> {
  kill(signal: NodeJS.Signals): void;
  /** Whether it has ended. */
  readonly ended: boolean;
}

/**
 * Starts a command writing stdout and stderr to `fd`. node's spawn, not execa: execa's types
 * take only descriptors 3 to 9, and the file's descriptor is whatever open() gave.
 */
function spawnTo(
  [file, args]: [string, string[]],
  fd: number,
  options: ImageTestOptions,
  timeoutMs: number,
): Spawned {
  const child = spawn(file, args, { stdio: ['ignore', fd, fd], signal: options.signal });
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill('SIGKILL');
  }, timeoutMs);
  const ended = new Promise<Ended>((resolve) => {
    const done = (code: number | null, signal: NodeJS.Signals | null): void => {
      clearTimeout(timer);
      resolve({ exitCode: code ?? undefined, signal: signal ?? undefined, timedOut });
    };
    child.on('close', done);
    child.on('error', (error) => {
      clearTimeout(timer);
      resolve({ exitCode: undefined, signal: error.message, timedOut });
    });
  });
  // A getter, not Object.assign's copy of its value: `ended` is read later.
  return Object.defineProperties(ended, {
    kill: { value: (signal: NodeJS.Signals) => void child.kill(signal) },
    ended: { get: () => child.exitCode !== null || child.signalCode !== null },
  }) as Spawned;
}

/** A plain test: one command in its own sandbox, no network at all. */
async function runAlone(
  options: ImageTestOptions,
  test: RecipeTest,
  outDir: string,
  limit: number,
): Promise<TestRun> {
  const { value: r, text } = await withOutputFile(outDir, (fd) =>
    spawnTo(['bwrap', bwrapArgs(options, test.run)], fd, options, limit),
  );
  return { ...r, output: text, serviceOutput: '' };
}

/**
 * A service test: the fixture server, the service and the command share one loopback network
 * (see loopback.ts). The service is started first and, with `ready`, probed until it answers;
 * whatever happens, it and the network are torn down before the next test.
 */
async function runWithService(
  options: ImageTestOptions,
  test: RecipeTest,
  outDir: string,
  limit: number,
): Promise<TestRun> {
  const inNet = (net: LoopbackNet, command: string[]): [string, string[]] =>
    net.enter(['bwrap', ...bwrapArgs({ ...options, shareNet: true }, command)]);
  const net = await LoopbackNet.open(options.signal);
  let stopServer: (() => Promise<void>) | undefined;
  try {
    if (test.serve) stopServer = await net.serve(test.serve.port, test.serve.body, options.signal);
    const { value: run, text: serviceOutput } = await withOutputFile(outDir, async (serviceFd) => {
      const service = test.service
        ? spawnTo(inNet(net, test.service), serviceFd, options, 4 * limit)
        : undefined;
      try {
        let probed = '';
        if (test.ready !== undefined) {
          const ready = net.waitReady(test.ready, limit, options.signal);
          const first = await Promise.race(service ? [ready, service] : [ready]);
          if (typeof first !== 'string')
            throw new Error(
              `the service ended (${first.exitCode ?? first.signal ?? 'no code'}) before ${String(test.ready)} was ready`,
            );
          probed = first;
        }
        // A server may accept connections before it serves them (PostgreSQL: "the database
        // system is starting up"): with a service, `run` is tried again until it exits 0, while
        // the service lives and within the time limit; the last try is what is reported.
        const deadline = Date.now() + limit;
        for (;;) {
          const { value: r, text } = await withOutputFile(outDir, (fd) =>
            spawnTo(inNet(net, test.run), fd, options, limit),
          );
          if (r.exitCode === 0 || !service || service.ended || Date.now() > deadline)
            return { ...r, output: probed + text };
          await new Promise((resolve) => setTimeout(resolve, 500));
        }
      } catch (error) {
        if (options.signal?.aborted) throw error;
        const message = error instanceof Error ? error.message : String(error);
        return { exitCode: undefined, signal: 'not run', timedOut: false, output: message };
      } finally {
        service?.kill('SIGTERM');
        await service;
      }
    });
    return { ...run, serviceOutput };
  } finally {
    await stopServer?.();
    await net.close();
  }
}

/**
 * Runs each test inside the image with bubblewrap: a read-only root, the unpacked copy's `/tmp`
 * writable and shared by the tests in order, as the image's user, no network unless the test
 * has a `service`, `ready` or `serve`, and then only a private loopback. A failing test
 * (non-zero exit, or output without the expected text) throws a PermanentError carrying its
 * output and its service's; passing tests are returned.
 */
export async function runImageTests(options: ImageTestOptions): Promise<TestOutcome[]> {
  // bwrap mounts /proc, /dev and /tmp over the read-only root: the mount points must exist.
  // A minimal image may lack them; the unpacked copy is ours to add them to (a cached root has
  // them already and is not written to).
  if (options.tmpDir === undefined)
    for (const dir of ['proc', 'dev', 'tmp'])
      await mkdir(path.join(options.rootfs, dir), { recursive: true });
  const outDir = await mkdtemp(path.join(os.tmpdir(), 'kiln-test-output-'));
  try {
    return await runEach(options, outDir);
  } finally {
    await rm(outDir, { recursive: true, force: true });
  }
}

async function runEach(options: ImageTestOptions, outDir: string): Promise<TestOutcome[]> {
  const outcomes: TestOutcome[] = [];
  for (const [i, test] of options.tests.entries()) {
    const name = test.name ?? test.run.join(' ');
    for (const [file, text] of Object.entries(test['tmp-files'] ?? {}))
      await writeFile(path.join(tmpOf(options), file), text, { mode: 0o644 });
    const networked =
      test.service !== undefined || test.ready !== undefined || test.serve !== undefined;
    const limit = testLimit(test, options);
    options.onLogLine?.(
      `[test ${name}] ${limit.emulated ? 'emulated' : 'native'}, limit ${limit.describe}`,
    );
    const started = performance.now();
    const result = await (networked ? runWithService : runAlone)(options, test, outDir, limit.ms);
    const took = `${seconds(performance.now() - started)}${limit.emulated ? ' emulated' : ''}`;
    const output = result.output.slice(-8000);
    const serviceOutput = result.serviceOutput.slice(-4000);
    for (const line of serviceOutput.split('\n'))
      if (line) options.onLogLine?.(`[service ${name}] ${line}`);
    for (const line of output.split('\n')) if (line) options.onLogLine?.(`[test ${name}] ${line}`);
    if (options.signal?.aborted) throw options.signal.reason;
    const expected = test['expect-output'];
    if (
      result.exitCode !== 0 ||
      result.timedOut ||
      (expected !== undefined && !output.includes(expected))
    ) {
      const why = result.timedOut
        ? `timed out after ${took}: the limit is ${limit.describe}`
        : result.exitCode !== 0
          ? `exited with ${result.exitCode ?? result.signal ?? 'no code'}`
          : `its output lacks ${JSON.stringify(expected)}`;
      const serviceText = serviceOutput ? `\n--- service output ---\n${serviceOutput}` : '';
      throw new PermanentError(
        `image test ${i + 1} (${name}) failed: ${why}\n--- output ---\n${output}${serviceText}`,
      );
    }
    options.onLogLine?.(`[test ${name}] passed in ${took} (limit ${seconds(limit.ms)})`);
    outcomes.push({ name, status: 'passed' });
  }
  return outcomes;
}
