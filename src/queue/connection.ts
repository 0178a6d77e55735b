import { createIORedisClient, RedisConnection } from 'bullmq';
import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';
import {
  parseRedisUrl,
  type ClusterTarget,
  type RedisNode,
  type RedisTarget,
} from './redis-url.ts';

/*
 * Every Redis connection kiln makes is built here, from KILN_REDIS_URL: a plain client, a
 * Sentinel client (ioredis asks the Sentinels for the master and follows a failover), or an
 * ioredis Cluster. BullMQ gets options rather than clients, so each BullMQ object owns, and
 * closes, its connections; for a Cluster those options carry the cluster's seed nodes, and the
 * client factory below turns them into a Cluster.
 */

/** kiln's own client: a single node or Sentinel-backed `Redis`, or a `Cluster`. */
export type RedisClient = Redis | Cluster;

/**
 * Connection options as BullMQ needs them: commands wait for a reconnect rather than failing
 * (`maxRetriesPerRequest: null`), so a Redis restart or a failover delays jobs instead of losing
 * them. Pass them as BullMQ's `connection`; kiln's own clients come from {@link createRedis}.
 */
export function redisOptions(url: string): RedisOptions {
  const target = parseRedisUrl(url);
  const options = nodeOptions(target);
  if (target.kind !== 'cluster') return options;
  installClusterFactory();
  const [first] = target.nodes;
  const withSeeds = {
    ...options,
    host: first?.host,
    port: first?.port,
    [clusterSeeds]: seedsOf(target),
  };
  return withSeeds;
}

/** A client of kiln's own (caches, catalog, counters); the caller closes it. */
export function createRedis(url: string, options: RedisOptions = {}): RedisClient {
  const target = parseRedisUrl(url);
  if (target.kind !== 'cluster') return new Redis({ ...nodeOptions(target), ...options });
  const { lazyConnect, retryStrategy, ...perNode } = options;
  return createCluster(
    seedsOf(target),
    { ...nodeOptions(target), ...perNode },
    {
      lazyConnect,
      ...(retryStrategy === undefined ? {} : { clusterRetryStrategy: retryStrategy }),
    },
  );
}

/** Options every node connection shares: credentials, TLS, database, Sentinel or not. */
function nodeOptions(target: RedisTarget): RedisOptions {
  const common: RedisOptions = {
    username: target.username,
    password: target.password,
    tls: target.tls ? {} : undefined,
    maxRetriesPerRequest: null,
    enableReadyCheck: true,
  };
  switch (target.kind) {
    case 'standalone':
      return { ...common, host: target.node.host, port: target.node.port, db: target.db };
    case 'sentinel':
      return {
        ...common,
        sentinels: target.sentinels,
        name: target.masterName,
        db: target.db,
        sentinelUsername: target.sentinelUsername,
        sentinelPassword: target.sentinelPassword,
        enableTLSForSentinelMode: target.tls,
        sentinelTLS: target.tls ? {} : undefined,
        // After a failover the old master may come back as a replica: reconnect and resend.
        reconnectOnError: (error) => (error.message.startsWith('READONLY') ? 2 : false),
      };
    case 'cluster':
      return common;
  }
}

/** The seed nodes of a cluster URL, as a value BullMQ copies along with the options. */
class ClusterSeeds {
  constructor(
    readonly nodes: RedisNode[],
    readonly tls: boolean,
  ) {}
}

function seedsOf(target: ClusterTarget): ClusterSeeds {
  return new ClusterSeeds(target.nodes, target.tls);
}

// A symbol key: BullMQ copies it with the options (spread / Object.assign), ioredis ignores it.
const clusterSeeds = Symbol('kiln.clusterSeeds');

function createCluster(
  seeds: ClusterSeeds,
  perNode: RedisOptions,
  extra: Pick<ClusterOptions, 'lazyConnect' | 'clusterRetryStrategy'> = {},
): Cluster {
  return new Cluster(seeds.nodes, {
    redisOptions: perNode,
    enableReadyCheck: true,
    // TLS certificates name hosts, not the addresses a lookup returns.
    ...(seeds.tls ? { dnsLookup: (address, callback) => callback(null, address) } : {}),
    ...extra,
  });
}

/**
 * BullMQ builds a plain client from options; its documented extension point, a client factory,
 * builds a Cluster instead when the options came from a cluster URL, and otherwise does what
 * BullMQ does. Installed on the first cluster URL, so single-node deployments never use it.
 */
function installClusterFactory(): void {
  RedisConnection.clientFactory ??= clusterAwareFactory;
  if (RedisConnection.clientFactory !== clusterAwareFactory) {
    throw new Error('another BullMQ client factory is installed; kiln cannot add Redis Cluster');
  }
}

function clusterAwareFactory(options: RedisOptions) {
  const seeds: unknown = Reflect.get(options, clusterSeeds);
  if (!(seeds instanceof ClusterSeeds)) return createIORedisClient(new Redis(options));
  const { lazyConnect, ...perNode } = options;
  return createIORedisClient(createCluster(seeds, perNode, { lazyConnect }));
}
