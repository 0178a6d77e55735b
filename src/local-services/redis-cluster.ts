import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { ensureTools, tools } from './packages.ts';
import { freePorts } from './ports.ts';
import { redisServerArgs, startRedisProcess, type LocalService } from './redis.ts';

const run = promisify(execFile);

export interface LocalRedisCluster {
  /** `redis://127.0.0.1:p1,127.0.0.1:p2,…/?cluster=true`: what KILN_REDIS_URL takes. */
  url: string;
  nodes: LocalService[];
  /** Stops every node and waits for them to exit. */
  stop(): Promise<void>;
}

/**
 * Starts a Redis Cluster of `masters` nodes (no replicas) on free loopback ports, each with its
 * own data folder under `dataDir`, joined with `redis-cli --cluster create`, and resolves once
 * every node reports the cluster ok with all 16384 slots served. For the tests and the bench.
 */
export async function startRedisCluster(options: {
  dataDir: string;
  masters?: number;
}): Promise<LocalRedisCluster> {
  ensureTools([tools.redis, tools.redisCli]);
  const count = options.masters ?? 3;
  const ports = await freePorts(count * 2);
  const nodes: LocalService[] = [];
  const stop = async () => {
    await Promise.all(nodes.map((n) => n.stop()));
  };
  try {
    for (let i = 0; i < count; i++) {
      const port = ports[2 * i] ?? 0;
      const dir = path.join(options.dataDir, `node-${i}`);
      const args = [
        ...(await redisServerArgs(port, dir)),
        '--cluster-enabled',
        'yes',
        '--cluster-config-file',
        path.resolve(dir, 'nodes.conf'),
        // The bus port is chosen too: port+10000, the default, may be taken or out of range.
        '--cluster-port',
        String(ports[2 * i + 1]),
        '--cluster-node-timeout',
        '3000',
      ];
      nodes.push(await startRedisProcess('redis-server', args, port));
    }
    const addresses = nodes.map((n) => `127.0.0.1:${n.port}`);
    await run(
      'redis-cli',
      ['--cluster', 'create', ...addresses, '--cluster-replicas', '0', '--cluster-yes'],
      {
        timeout: 60_000,
      },
    );
    await Promise.all(nodes.map((n) => waitClusterOk(n.port)));
  } catch (error) {
    await stop();
    throw new Error('starting a local Redis Cluster', { cause: error });
  }
  return {
    url: `redis://${nodes.map((n) => `127.0.0.1:${n.port}`).join(',')}/?cluster=true`,
    nodes,
    stop,
  };
}

/** Polls CLUSTER INFO until the node serves every slot and sees the cluster as ok. */
async function waitClusterOk(port: number, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    const { stdout } = await run('redis-cli', ['-p', String(port), 'cluster', 'info']);
    last = stdout;
    if (/cluster_state:ok/.test(stdout) && /cluster_slots_ok:16384/.test(stdout)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(
    `Redis Cluster node 127.0.0.1:${port} not ok after ${timeoutMs} ms: ${last.trim()}`,
  );
}
