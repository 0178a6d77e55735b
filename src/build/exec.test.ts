import { describe, expect, it } from 'vitest';
import { PermanentError, TransientError } from '../errors.ts';
import { isolatedEnv, runTool } from './exec.ts';
import { isAlive } from './process-tree.ts';

describe('runTool', () => {
  it('passes arguments verbatim, without a shell', async () => {
    const weird = `a'b"c $(touch /tmp/kiln-pwned) ; | & \`id\` \\n *`;
    const lines: string[] = [];
    await runTool({
      what: 'echoing',
      file: 'printf',
      args: ['%s\\n', weird],
      onLine: (l) => lines.push(l),
    });
    expect(lines).toEqual([weird]);
  });

  it('turns a non-zero exit into a permanent error with the last output lines', async () => {
    const run = runTool({
      what: 'building demo 1.0 for amd64',
      file: 'sh',
      args: ['-c', 'for i in $(seq 1 50); do echo line $i; done; echo boom >&2; exit 3'],
      tailLines: 5,
    });
    const error = await run.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PermanentError);
    const message = (error as Error).message;
    expect(message).toContain('building demo 1.0 for amd64: sh exited with status 3');
    expect(message).toContain('line 50\nboom');
    expect(message).not.toContain('line 45');
  });

  it('lets the caller classify a failure as transient', async () => {
    const error = await runTool({
      what: 'pulling',
      file: 'sh',
      args: ['-c', 'echo "connection refused"; exit 1'],
      classify: ({ tail }) =>
        tail.some((l) => l.includes('connection refused')) ? 'transient' : 'permanent',
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TransientError);
  });

  it('kills the whole tree on timeout, even children in a session of their own', async () => {
    const pids: number[] = [];
    const error = await runTool({
      what: 'sleeping',
      file: 'sh',
      args: [
        '-c',
        'sleep 300 & echo $!; setsid sleep 301 & echo $!; sh -c "sleep 302 & echo \\$!; wait" & wait',
      ],
      timeoutMs: 800,
      graceMs: 200,
      onLine: (l) => pids.push(Number(l)),
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TransientError);
    expect((error as Error).message).toMatch(/sleeping: timed out after \d+ s/);
    expect(pids).toHaveLength(3);
    for (const pid of pids) expect(await isAlive(pid)).toBe(false);
  });

  it('ends even when a process escaped the tree and holds the output open', async () => {
    const pids: number[] = [];
    const run = runTool({
      what: 'escaping',
      file: 'sh',
      // A double fork into a new session: outside the group and, once reparented, the tree.
      args: ['-c', `(setsid sh -c 'echo $$; exec sleep 300' &); sleep 300`],
      timeoutMs: 500,
      graceMs: 100,
      onLine: (l) => pids.push(Number(l)),
    });
    const error = await run.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TransientError);
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  });

  it('kills the tree when the signal aborts', async () => {
    const controller = new AbortController();
    const pids: number[] = [];
    const run = runTool({
      what: 'waiting',
      file: 'sh',
      args: ['-c', 'sleep 300 & echo $!; wait'],
      signal: controller.signal,
      graceMs: 100,
      onLine: (l) => {
        pids.push(Number(l));
        controller.abort(new Error('job cancelled'));
      },
    });
    const error = await run.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TransientError);
    expect((error as Error).message).toContain('waiting: cancelled');
    expect(await isAlive(pids[0] ?? 0)).toBe(false);
  });

  it('reports a missing program as permanent', async () => {
    const error = await runTool({ what: 'building', file: 'kiln-no-such-tool', args: [] }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(PermanentError);
    expect((error as Error).message).toContain('could not start kiln-no-such-tool');
  });
});

describe('isolatedEnv', () => {
  it('gives the tool only the variables it names, none of kiln’s', async () => {
    process.env.KILN_SECRET_EXEC_TEST = 'kiln-secret-value';
    process.env.GITHUB_TOKEN_EXEC_TEST = 'ghp_exec_test_token';
    try {
      const lines: string[] = [];
      await runTool({
        what: 'printing the environment',
        file: 'env',
        args: [],
        env: isolatedEnv({ home: '/nonexistent-home', tmpDir: '/tmp', extra: { ONE: '1' } }),
        extendEnv: false,
        onLine: (l) => lines.push(l),
      });
      expect(lines.map((l) => l.split('=')[0]).sort()).toEqual(
        ['HOME', 'LANG', 'LC_ALL', 'ONE', 'PATH', 'TMPDIR', 'TZ'].sort(),
      );
      expect(lines.join('\n')).not.toMatch(/kiln-secret-value|ghp_exec_test_token/);
      expect(lines).toContain('HOME=/nonexistent-home');
    } finally {
      delete process.env.KILN_SECRET_EXEC_TEST;
      delete process.env.GITHUB_TOKEN_EXEC_TEST;
    }
  });
});
