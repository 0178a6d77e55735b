import { execa } from 'execa';
import { PermanentError } from '../errors.ts';

/*
 * A service test needs several processes on one loopback network: a server from the image, a
 * client from the image, and sometimes the runner itself (a readiness probe, a fixture server).
 * bwrap cannot join a network namespace, so one is held open by a small bwrap process and
 * every participant enters it with nsenter: image commands as `bwrap --share-net`, the runner's
 * helpers as node. Joining a namespace needs root (CAP_SYS_ADMIN over it); without root the
 * holder owns a user namespace too and nsenter enters both.
 */

const isRoot = process.getuid?.() === 0;

/** A started subprocess: awaitable, killable. */
interface Child extends PromiseLike<unknown> {
  kill(signal?: NodeJS.Signals): boolean;
}

/** What a stream has written once `done` holds, or when the process ends first. */
function firstText(
  stream: NodeJS.ReadableStream | null | undefined,
  done: (text: string) => boolean,
  child: Child,
): Promise<string> {
  return new Promise((resolve) => {
    let text = '';
    const finish = (): void => {
      stream?.off('data', onData);
      resolve(text);
    };
    const onData = (chunk: Buffer | string): void => {
      text += String(chunk);
      if (done(text)) finish();
    };
    stream?.on('data', onData);
    child.then(finish, finish);
  });
}

/** The runner's side, run as `node -e` inside the namespace: `wait <port|url> <ms>` or `serve <port> <body>`. */
const helper = String.raw`
const [mode, target, extra] = process.argv.slice(1);
if (mode === 'serve') {
  require('node:http')
    .createServer((_q, r) => r.end(extra))
    .listen(Number(target), '127.0.0.1', () => console.log('listening'));
} else {
  const deadline = Date.now() + Number(extra);
  let last = '';
  const once = () =>
    /^\d+$/.test(target)
      ? new Promise((ok, no) => {
          const s = require('node:net').connect(Number(target), '127.0.0.1', () => (s.end(), ok('')));
          s.on('error', no);
        })
      : fetch(target).then(async (r) => {
          const body = await r.text();
          if (!r.ok) throw new Error('HTTP ' + r.status + ': ' + body.slice(0, 200));
          return body;
        });
  const loop = () =>
    once().then(
      (body) => { process.stdout.write(body); process.exit(0); },
      (e) => {
        last = String(e && e.cause ? e.cause : e);
        if (Date.now() > deadline) { console.error('not ready: ' + last); process.exit(1); }
        setTimeout(loop, 100);
      },
    );
  loop();
}`;

/** One held-open network namespace with loopback up; {@link enter} prefixes a command to run in it. */
export class LoopbackNet {
  private constructor(
    private readonly holder: Child,
    private readonly pid: number,
  ) {}

  /** Starts the holder and reads its child's pid from bwrap's `--info-fd`. */
  static async open(signal?: AbortSignal): Promise<LoopbackNet> {
    const holder = execa(
      'bwrap',
      [
        ...(isRoot ? [] : ['--unshare-user']),
        '--unshare-net',
        '--die-with-parent',
        '--dev-bind',
        '/',
        '/',
        '--info-fd',
        '3',
        '--',
        'sleep',
        'infinity',
      ],
      { stdio: ['ignore', 'ignore', 'pipe', 'pipe'], reject: false, cancelSignal: signal },
    );
    const text = await firstText(holder.stdio[3], (t) => t.includes('}'), holder);
    const pid = /"child-pid"\s*:\s*(\d+)/.exec(text)?.[1];
    if (!pid) {
      holder.kill('SIGKILL');
      const result = await holder;
      throw new PermanentError(
        `starting the test network (bwrap --unshare-net) failed: ${String(result.stderr).trim() || 'no child pid'}`,
      );
    }
    return new LoopbackNet(holder, Number(pid));
  }

  /** `[file, args]` that run `command` inside the namespace. */
  enter(command: string[]): [string, string[]] {
    const ns = `/proc/${this.pid}/ns`;
    return [
      'nsenter',
      [
        ...(isRoot ? [] : [`--user=${ns}/user`, '--preserve-credentials']),
        `--net=${ns}/net`,
        '--',
        ...command,
      ],
    ];
  }

  /** The runner's readiness probe, inside the namespace: resolves with an HTTP answer's body. */
  async waitReady(
    target: number | string,
    timeoutMs: number,
    signal?: AbortSignal,
  ): Promise<string> {
    const [file, args] = this.enter([
      process.execPath,
      '-e',
      helper,
      'wait',
      String(target),
      String(timeoutMs),
    ]);
    const result = await execa(file, args, {
      reject: false,
      cancelSignal: signal,
      timeout: timeoutMs + 10_000,
    });
    if (result.exitCode !== 0)
      throw new Error(
        `${String(target)} not ready within ${timeoutMs} ms: ${result.stderr || result.stdout}`,
      );
    return result.stdout;
  }

  /** A fixed HTTP server inside the namespace, until the returned stop is called. */
  async serve(port: number, body: string, signal?: AbortSignal): Promise<() => Promise<void>> {
    const [file, args] = this.enter([process.execPath, '-e', helper, 'serve', String(port), body]);
    const server = execa(file, args, { reject: false, cancelSignal: signal, stdin: 'ignore' });
    const out = await firstText(server.stdout, (t) => t.includes('listening\n'), server);
    if (!out.includes('listening'))
      throw new Error(`the fixture server on port ${port} did not start: ${out}`);
    return async () => {
      server.kill('SIGKILL');
      await server;
    };
  }

  async close(): Promise<void> {
    this.holder.kill('SIGKILL');
    await this.holder;
  }
}
