import { copyFile, mkdir, mkdtemp, realpath, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RecipeTest } from '../recipe/schema.ts';
import { emulationFactor, hostArch, runImageTests, testLimit } from './run-tests.ts';

/*
 * Per-test time limits: a recipe test's `timeout`, the default, and emulation's factor. The
 * image is a folder holding the host's own `sleep` and the C library it needs, run by the real
 * runner under bubblewrap (amd64 hosts: the paths are x86-64 glibc's).
 */

const hostFiles = [
  '/usr/bin/sleep',
  '/lib64/ld-linux-x86-64.so.2',
  '/lib/x86_64-linux-gnu/libc.so.6',
];
let rootfs = '';

beforeAll(async () => {
  rootfs = await mkdtemp(path.join(os.tmpdir(), 'kiln-run-tests-'));
  for (const file of hostFiles) {
    await mkdir(path.join(rootfs, path.dirname(file)), { recursive: true });
    await copyFile(await realpath(file), path.join(rootfs, file));
  }
});
afterAll(async () => {
  await rm(rootfs, { recursive: true, force: true });
});

const sleep = (seconds: number, over: Partial<RecipeTest> = {}): RecipeTest => ({
  name: `sleep ${seconds}`,
  run: ['/usr/bin/sleep', String(seconds)],
  ...over,
});

/** Runs the tests, collecting the log's lines; a failure's message, or undefined. */
async function run(
  tests: RecipeTest[],
  over: { timeoutMs?: number; arch?: string; hostArch?: string } = {},
): Promise<{ failure: string | undefined; log: string[] }> {
  const log: string[] = [];
  try {
    await runImageTests({ rootfs, tests, onLogLine: (l) => log.push(l), ...over });
    return { failure: undefined, log };
  } catch (error) {
    return { failure: error instanceof Error ? error.message : String(error), log };
  }
}

describe.runIf(process.arch === 'x64')('runImageTests: per-test time limits', () => {
  it('a test past its `timeout` is killed and fails, naming the limit', async () => {
    const { failure, log } = await run([sleep(30, { timeout: '1s' })]);
    expect(failure).toMatch(
      /^image test 1 \(sleep 30\) failed: timed out after [\d.]+ s: the limit is 1 s \(timeout 1s, native\)/,
    );
    expect(log).toContain('[test sleep 30] native, limit 1 s (timeout 1s, native)');
  });

  it('a raised `timeout` lets a test pass that the default limit fails', async () => {
    const slow = await run([sleep(3)], { timeoutMs: 1000 });
    expect(slow.failure).toMatch(
      /timed out after [\d.]+ s: the limit is 1 s \(the default, native\)/,
    );
    const raised = await run([sleep(3, { timeout: '1m' })], { timeoutMs: 1000 });
    expect(raised.failure).toBeUndefined();
    expect(raised.log[0]).toBe('[test sleep 3] native, limit 60 s (timeout 1m, native)');
    expect(raised.log.at(-1)).toMatch(/^\[test sleep 3\] passed in [\d.]+ s \(limit 60 s\)$/);
  });

  it("a service test's command is held to its `timeout` too", async () => {
    const { failure } = await run([
      { ...sleep(30, { timeout: '1s' }), service: ['/usr/bin/sleep', '60'] },
    ]);
    expect(failure).toMatch(/timed out after [\d.]+ s: the limit is 1 s \(timeout 1s, native\)/);
  });

  it("the image's own arch is native: no factor", async () => {
    const { failure, log } = await run([sleep(0)], { arch: hostArch(), timeoutMs: 2000 });
    expect(failure).toBeUndefined();
    expect(log[0]).toBe('[test sleep 0] native, limit 2 s (the default, native)');
  });

  // The same binary, with the runner told the host is another arch: what it does for an image
  // qemu runs (the real thing is `kiln build recipes/postgres.yaml --arch arm64` on amd64).
  it('another arch than the host’s multiplies the limit, and the log says it ran emulated', async () => {
    const { failure, log } = await run([sleep(3)], {
      timeoutMs: 1000,
      arch: 'amd64',
      hostArch: 'arm64',
    });
    expect(failure).toBeUndefined();
    expect(log[0]).toBe(
      `[test sleep 3] emulated, limit ${emulationFactor} s (the default × ${emulationFactor}: amd64 emulated by qemu on arm64)`,
    );
    expect(log.at(-1)).toMatch(/^\[test sleep 3\] passed in [\d.]+ s emulated \(limit 5 s\)$/);
  });
});

describe('testLimit', () => {
  it('is the test’s timeout, else the caller’s, else 120 s; times the factor when emulated', () => {
    expect(testLimit({}, {}).ms).toBe(120_000);
    expect(testLimit({}, { timeoutMs: 5000 }).ms).toBe(5000);
    expect(testLimit({ timeout: '10m' }, { timeoutMs: 5000 }).ms).toBe(600_000);
    const emulated = testLimit({ timeout: '5m' }, { arch: 'arm64', hostArch: 'amd64' });
    expect(emulated).toEqual({
      ms: 300_000 * emulationFactor,
      emulated: true,
      describe: `${300 * emulationFactor} s (timeout 5m × ${emulationFactor}: arm64 emulated by qemu on amd64)`,
    });
    expect(testLimit({}, { arch: 'amd64', hostArch: 'amd64' }).emulated).toBe(false);
    expect(emulationFactor).toBeGreaterThanOrEqual(5);
  });
});
