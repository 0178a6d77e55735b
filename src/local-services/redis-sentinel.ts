import { execFile } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { ensureTools, tools } from './packages.ts';
import { freePorts } from './ports.ts';
import { redisServerArgs, startRedisProcess, type LocalService } from './redis.ts';

const run = promisify(execFile);

export interface LocalSentinelGroup {
  /** `redis+sentinel://127.0.0.1:s1,…/<masterName>`: what KILN_REDIS_URL takes. */
  url: string;
  masterName: string;
  /** The master at start-up (after a failover the replica is the master). */
  master: LocalService;
  replica: LocalService;
  sentinels: LocalService[];
  /** The `host:port` the Sentinels name as master right now. */
  currentMaster(): Promise<string>;
  /** Stops every process still running and waits for them to exit. */
  stop(): Promise<void>;
}

/**
 * Starts a Sentinel group on free loopback ports: one master, one replica of it, and three
 * `redis-sentinel` processes watching the master with a quorum of two. Failover is quick
 * (the master counts as down after `downAfterMs`), so a test can kill the master and go on.
 * Resolves once the replica is in sync and every Sentinel sees the others (`SENTINEL CKQUORUM`).
 */
export async function startSentinelGroup(options: {
  dataDir: string;
  masterName?: string;
  downAfterMs?: number;
}): Promise<LocalSentinelGroup> {
  ensureTools([tools.redis, tools.redisSentinel, tools.redisCli]);
  const masterName = options.masterName ?? 'kiln';
  const [masterPort = 0, replicaPort = 0, ...sentinelPorts] = await freePorts(5);
  const started: LocalService[] = [];
  const stop = async () => {
    await Promise.all(started.map((s) => s.stop()));
  };
  try {
    const master = await startRedisProcess(
      'redis-server',
      await redisServerArgs(masterPort, path.join(options.dataDir, 'master')),
      masterPort,
    );
    started.push(master);
    const replica = await startRedisProcess(
      'redis-server',
      [
        ...(await redisServerArgs(replicaPort, path.join(options.dataDir, 'replica'))),
        '--replicaof',
        '127.0.0.1',
        String(masterPort),
      ],
      replicaPort,
    );
    started.push(replica);
    await waitFor(`replica 127.0.0.1:${replicaPort} in sync`, async () =>
      /master_link_status:up/.test(await cli(replicaPort, 'info', 'replication')),
    );
    const sentinels: LocalService[] = [];
    for (const [i, port] of sentinelPorts.entries()) {
      const dir = path.join(options.dataDir, `sentinel-${i}`);
      await mkdir(dir, { recursive: true });
      // Sentinel rewrites its configuration file as it learns: it must be a file of its own.
      const conf = path.join(dir, 'sentinel.conf');
      await writeFile(
        conf,
        [
          `port ${port}`,
          'bind 127.0.0.1',
          `dir ${path.resolve(dir)}`,
          'logfile ""',
          'loglevel warning',
          `sentinel monitor ${masterName} 127.0.0.1 ${masterPort} 2`,
          `sentinel down-after-milliseconds ${masterName} ${options.downAfterMs ?? 1000}`,
          `sentinel failover-timeout ${masterName} 10000`,
          `sentinel parallel-syncs ${masterName} 1`,
          '',
        ].join('\n'),
      );
      const sentinel = await startRedisProcess('redis-sentinel', [conf], port);
      started.push(sentinel);
      sentinels.push(sentinel);
    }
    for (const s of sentinels) {
      await waitFor(
        `Sentinel 127.0.0.1:${s.port} sees the replica and the other Sentinels`,
        async () => {
          const replicas = await cli(s.port, 'sentinel', 'replicas', masterName);
          const quorum = await cli(s.port, 'sentinel', 'ckquorum', masterName).catch(() => '');
          return replicas.includes(String(replicaPort)) && /OK 3 usable/.test(quorum);
        },
      );
    }
    return {
      url: `redis+sentinel://${sentinels.map((s) => `127.0.0.1:${s.port}`).join(',')}/${masterName}`,
      masterName,
      master,
      replica,
      sentinels,
      async currentMaster() {
        const [host, port] = (
          await cli(sentinels[0]?.port ?? 0, 'sentinel', 'get-master-addr-by-name', masterName)
        )
          .trim()
          .split('\n');
        return `${host}:${port}`;
      },
      stop,
    };
  } catch (error) {
    await stop();
    throw new Error('starting a local Redis Sentinel group', { cause: error });
  }
}

async function cli(port: number, ...args: string[]): Promise<string> {
  return (await run('redis-cli', ['-p', String(port), ...args], { timeout: 10_000 })).stdout;
}

async function waitFor(
  what: string,
  ok: () => Promise<boolean>,
  timeoutMs = 30_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await ok()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`waited ${timeoutMs} ms for ${what}`);
}
