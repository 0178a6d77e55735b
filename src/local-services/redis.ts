import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { ensureTools, tools } from './packages.ts';
import { freePort, waitForPort } from './ports.ts';

export interface LocalService {
  url: string;
  port: number;
  pid: number | undefined;
  /** Stops the process and waits for it to exit. */
  stop(): Promise<void>;
}

/**
 * Starts a `redis-server` on a free loopback port with AOF on and its data in `dataDir`, the way
 * kiln wants Redis for BullMQ (no eviction: a queue must never lose a key to memory pressure).
 */
export async function startRedis(options: {
  dataDir: string;
  port?: number;
}): Promise<LocalService> {
  const port = options.port ?? (await freePort());
  return startRedisProcess('redis-server', await redisServerArgs(port, options.dataDir), port);
}

/**
 * The arguments of every `redis-server` kiln starts (single, Cluster node, Sentinel's master and
 * replica): loopback only, AOF on, no snapshots, no eviction, logs on stderr.
 */
export async function redisServerArgs(port: number, dataDir: string): Promise<string[]> {
  await mkdir(dataDir, { recursive: true });
  return [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--dir',
    path.resolve(dataDir),
    '--appendonly',
    'yes',
    '--appendfsync',
    'everysec',
    '--save',
    '',
    '--maxmemory-policy',
    'noeviction',
    '--daemonize',
    'no',
    '--protected-mode',
    'yes',
    '--logfile',
    '',
    '--loglevel',
    'warning',
  ];
}

/** Spawns `command` (redis-server or redis-sentinel) and resolves once it listens on `port`. */
export async function startRedisProcess(
  command: 'redis-server' | 'redis-sentinel',
  args: string[],
  port: number,
): Promise<LocalService> {
  ensureTools([command === 'redis-server' ? tools.redis : tools.redisSentinel]);
  const child = spawn(command, args, { stdio: ['ignore', 'ignore', 'pipe'], detached: true });
  await waitOrFail(child, port, command);
  return serviceOf(child, port, `redis://127.0.0.1:${port}`);
}

/**
 * Services run in their own process group (`detached`), so a Ctrl-C or a supervisor's signal to
 * kiln's group does not stop Redis under jobs that are still draining; kiln stops them last, and
 * kills them if it exits without doing so.
 */
export function serviceOf(child: ChildProcess, port: number, url: string): LocalService {
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  child.once('exit', () => process.removeListener('exit', killOnExit));
  return {
    url,
    port,
    pid: child.pid,
    stop: () => stopChild(child),
  };
}

export async function waitOrFail(child: ChildProcess, port: number, name: string): Promise<void> {
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4000);
  });
  const exited = new Promise<never>((_, reject) => {
    child.once('exit', (code) =>
      reject(new Error(`${name} exited with ${code} before listening: ${stderr.trim()}`)),
    );
    child.once('error', (err) => reject(new Error(`${name} could not start: ${err.message}`)));
  });
  await Promise.race([waitForPort(port), exited]);
}

export function stopChild(child: ChildProcess, timeoutMs = 10_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}
