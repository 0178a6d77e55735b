import { chmod, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import type { Config } from '../config.ts';
import type { Logger } from '../log.ts';
import { generateKeyPair } from '../sign/keys.ts';
import { freePort, portIsFree } from '../local-services/ports.ts';
import { startRedis } from '../local-services/redis.ts';
import { startRegistry } from '../local-services/registry.ts';
import { which } from '../local-services/packages.ts';

/** What `kiln up` started for itself, and how to stop it. */
export interface LocalDefaults {
  config: Config;
  stop(): Promise<void>;
}

/** Where `kiln up` writes the addresses of the Redis and registry it started, for `kiln status`. */
export function endpointsFile(stateDir: string): string {
  return path.join(stateDir, 'endpoints.json');
}

/** The registry port a single machine uses when it is free: consumers' image references stay stable. */
const preferredRegistryPort = 5000;

/**
 * Fills in what a single machine lacks: a `redis-server` (AOF on, data under the state folder)
 * when KILN_REDIS_URL is unset, a `docker-registry` when KILN_REGISTRY is unset, and a signing
 * key under the state folder when KILN_SIGNING_KEY is unset (unless unsigned publishing was asked).
 */
export async function withLocalDefaults(config: Config, log: Logger): Promise<LocalDefaults> {
  const stops: (() => Promise<void>)[] = [];
  const filled: Config = { ...config };
  await mkdir(config.stateDir, { recursive: true });
  if (!config.redisUrl) {
    const redis = await startLocalRedis(config.stateDir, log);
    filled.redisUrl = redis.url;
    stops.push(() => redis.stop());
  }
  if (!config.registry) {
    const registry = await startLocalRegistry(config.stateDir, log);
    filled.registry = `${registry.host}/kiln`;
    stops.push(() => registry.stop());
  }
  if (!config.signingKey && !config.allowUnsigned) {
    filled.signingKey = await localSigningKey(config.stateDir, log);
    filled.signingKeyPassword = undefined;
  }
  await writeFile(
    endpointsFile(config.stateDir),
    `${JSON.stringify({ redisUrl: filled.redisUrl, registry: filled.registry, pid: process.pid }, null, 2)}\n`,
  );
  return {
    config: filled,
    async stop() {
      for (const stop of stops.reverse()) await stop();
    },
  };
}

/** A `redis-server` with AOF on, its data under the state folder. */
async function startLocalRedis(stateDir: string, log: Logger) {
  if (!which('redis-server')) {
    throw new Error(
      'KILN_REDIS_URL is unset and redis-server is not installed: install it (apt-get install redis-server) or point KILN_REDIS_URL at a Redis',
    );
  }
  const dataDir = path.join(stateDir, 'redis');
  const redis = await startRedis({ dataDir });
  log.info({ url: redis.url, dataDir }, 'started redis-server (AOF on)');
  return redis;
}

/** A `docker-registry` on port 5000 when it is free, else on a free port. */
async function startLocalRegistry(stateDir: string, log: Logger) {
  if (!which('docker-registry')) {
    throw new Error(
      'KILN_REGISTRY is unset and docker-registry is not installed: install it (apt-get install docker-registry) or set KILN_REGISTRY',
    );
  }
  const port = (await portIsFree(preferredRegistryPort)) ? preferredRegistryPort : await freePort();
  const registry = await startRegistry({ dataDir: path.join(stateDir, 'registry'), port });
  log.info({ registry: `${registry.host}/kiln` }, 'started docker-registry');
  return registry;
}

/** This machine's signing key under the state folder, made on first use; its file name. */
async function localSigningKey(stateDir: string, log: Logger): Promise<string> {
  const keyDir = path.join(stateDir, 'keys');
  const privateFile = path.join(keyDir, 'cosign.key');
  const publicFile = path.join(keyDir, 'cosign.pub');
  if (!(await exists(privateFile))) {
    await mkdir(keyDir, { recursive: true, mode: 0o700 });
    const pair = generateKeyPair();
    await writeFile(privateFile, pair.privatePem, { mode: 0o600 });
    await writeFile(publicFile, pair.publicPem);
    log.info(
      { publicKey: publicFile },
      'made a signing key for this machine (set KILN_SIGNING_KEY to use your own)',
    );
  }
  await chmod(privateFile, 0o600);
  return privateFile;
}

const endpointsSchema = z.object({
  redisUrl: z.string().optional(),
  registry: z.string().optional(),
});

/** The endpoints a running `kiln up` wrote, if any. */
export async function readEndpoints(
  stateDir: string,
): Promise<{ redisUrl?: string; registry?: string } | undefined> {
  const text = await readFile(endpointsFile(stateDir), 'utf8').catch(() => undefined);
  if (!text) return undefined;
  const parsed = endpointsSchema.safeParse(JSON.parse(text));
  return parsed.success ? parsed.data : undefined;
}

async function exists(file: string): Promise<boolean> {
  return stat(file).then(
    () => true,
    () => false,
  );
}
