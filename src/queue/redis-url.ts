import { registerSecret } from '../log.ts';

/** One `host:port` of a Redis node or a Sentinel. */
export interface RedisNode {
  host: string;
  port: number;
}

interface Credentials {
  username: string | undefined;
  password: string | undefined;
  /** `rediss` / `rediss+sentinel`: TLS to every node (and to the Sentinels). */
  tls: boolean;
}

/** One Redis server: `redis[s]://[user:pass@]host[:port][/db]`. */
export interface StandaloneTarget extends Credentials {
  kind: 'standalone';
  node: RedisNode;
  db: number;
}

/** A Redis Cluster, from one or more seed nodes: `redis[s]://[user:pass@]h:p,h:p/?cluster=true`. */
export interface ClusterTarget extends Credentials {
  kind: 'cluster';
  nodes: RedisNode[];
}

/**
 * The master a Sentinel group names: `redis[s]+sentinel://[user:pass@]h:p,h:p/<master>[?db=N]`.
 * The credentials are the master's (and its replicas'); `sentinelPassword` (and
 * `sentinelUsername`) in the query authenticate to the Sentinels themselves.
 */
export interface SentinelTarget extends Credentials {
  kind: 'sentinel';
  sentinels: RedisNode[];
  masterName: string;
  db: number;
  sentinelUsername: string | undefined;
  sentinelPassword: string | undefined;
}

export type RedisTarget = StandaloneTarget | ClusterTarget | SentinelTarget;

/** A KILN_REDIS_URL kiln cannot use; the message never contains the URL's passwords. */
export class RedisUrlError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RedisUrlError';
  }
}

const defaultPort = { redis: 6379, sentinel: 26379 };
const shape =
  /^(?<scheme>rediss?)(?<sentinel>\+sentinel)?:\/\/(?:(?<auth>[^@/?#]*)@)?(?<hosts>[^/?#]*)(?<path>\/[^?#]*)?(?:\?(?<query>[^#]*))?$/;
const forms =
  'redis://host:port/db, redis://host:port,host:port/?cluster=true or redis+sentinel://host:port,host:port/<master-name> (rediss for TLS)';

/**
 * Reads the three forms of KILN_REDIS_URL. Passwords found in it are registered for masking
 * first, so no log line or error that later quotes the URL shows them.
 */
export function parseRedisUrl(url: string): RedisTarget {
  const m = shape.exec(url.trim());
  const g = m?.groups;
  if (!g || g.scheme === undefined || g.hosts === undefined) {
    throw new RedisUrlError(`expected ${forms}`);
  }
  const { username, password } = credentials(g.auth);
  const tls = g.scheme === 'rediss';
  const query = queryOf(g.query ?? '');
  const path = (g.path ?? '').replace(/^\/+|\/+$/g, '');

  if (g.sentinel) {
    const sentinels = nodesOf(g.hosts, defaultPort.sentinel);
    known(query, ['db', 'sentinelUsername', 'sentinelPassword']);
    if (!path || path.includes('/')) {
      throw new RedisUrlError(
        `a Sentinel URL names its master as the path: redis+sentinel://host:port,host:port/<master-name> (got ${JSON.stringify(path || '/')})`,
      );
    }
    const sentinelPassword = query.get('sentinelPassword') ?? undefined;
    registerSecret(sentinelPassword);
    return {
      kind: 'sentinel',
      sentinels,
      masterName: decode(path, 'master name'),
      db: dbOf(query.get('db') ?? ''),
      username,
      password,
      tls,
      sentinelUsername: query.get('sentinelUsername') ?? undefined,
      sentinelPassword,
    };
  }

  known(query, ['cluster']);
  const nodes = nodesOf(g.hosts, defaultPort.redis);
  const cluster = query.get('cluster');
  if (cluster !== null && cluster !== 'true' && cluster !== 'false') {
    throw new RedisUrlError(`cluster= must be true or false, got ${JSON.stringify(cluster)}`);
  }
  if (cluster === 'true') {
    if (path !== '' && path !== '0') {
      throw new RedisUrlError(`a Redis Cluster has only database 0, the URL asks for /${path}`);
    }
    return { kind: 'cluster', nodes, username, password, tls };
  }
  const [node, ...more] = nodes;
  if (!node || more.length > 0) {
    throw new RedisUrlError(
      `several hosts need ?cluster=true (Redis Cluster) or redis+sentinel:// (Sentinel); expected ${forms}`,
    );
  }
  return { kind: 'standalone', node, db: dbOf(path), username, password, tls };
}

function credentials(auth: string | undefined): {
  username: string | undefined;
  password: string | undefined;
} {
  if (auth === undefined || auth === '') return { username: undefined, password: undefined };
  const colon = auth.indexOf(':');
  const rawUser = colon < 0 ? auth : auth.slice(0, colon);
  const rawPassword = colon < 0 ? '' : auth.slice(colon + 1);
  // Both spellings are masked: logs may quote the URL (encoded) or the option (decoded).
  registerSecret(rawPassword);
  const password = rawPassword ? decode(rawPassword, 'password') : undefined;
  registerSecret(password);
  return { username: rawUser ? decode(rawUser, 'user name') : undefined, password };
}

function decode(text: string, what: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    // The value may be a secret: name the part, never quote it.
    throw new RedisUrlError(`the ${what} is not valid percent-encoding`);
  }
}

function nodesOf(hosts: string, port: number): RedisNode[] {
  const list = hosts.split(',').map((h) => h.trim());
  if (list.some((h) => h === '')) throw new RedisUrlError(`expected host:port, got an empty host`);
  return list.map((h) => nodeOf(h, port));
}

function nodeOf(text: string, fallbackPort: number): RedisNode {
  const m = /^(?:\[(?<v6>[0-9a-fA-F:.]+)\]|(?<name>[A-Za-z0-9._-]+))(?::(?<port>\d+))?$/.exec(text);
  const host = m?.groups?.v6 ?? m?.groups?.name;
  if (!host) throw new RedisUrlError(`expected host or host:port, got ${JSON.stringify(text)}`);
  const port = m?.groups?.port === undefined ? fallbackPort : Number(m.groups.port);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new RedisUrlError(`port of ${host} must be 1-65535, got ${m?.groups?.port}`);
  }
  return { host, port };
}

function dbOf(text: string): number {
  if (text === '') return 0;
  if (!/^\d+$/.test(text) || Number(text) > 15) {
    throw new RedisUrlError(`the database must be a number 0-15, got ${JSON.stringify(text)}`);
  }
  return Number(text);
}

function queryOf(query: string): URLSearchParams {
  const params = new URLSearchParams(query);
  // A query value may be a password: register before any check can quote the query.
  for (const [name, value] of params) if (/password/i.test(name)) registerSecret(value);
  return params;
}

function known(query: URLSearchParams, allowed: string[]): void {
  for (const name of query.keys()) {
    if (!allowed.includes(name)) {
      throw new RedisUrlError(
        `unknown URL parameter ${JSON.stringify(name)}; this form takes ${allowed.join(', ')}`,
      );
    }
  }
}
