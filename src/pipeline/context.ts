import type { RedisClient as Redis } from '../queue/connection.ts';
import type { Config } from '../config.ts';
import type { Logger } from '../log.ts';
import { registryClientFor, splitRegistry } from '../oci/registry-from-config.ts';
import type { RegistryClient } from '../oci/registry-client.ts';
import type { FlowProducer } from 'bullmq';
import { createRedis, redisOptions } from '../queue/connection.ts';
import { createFlowProducer } from '../queue/enqueue.ts';
import { signerFromConfig, type Signer } from '../sign/signer.ts';

/**
 * What publishing needs, made once: the registry, the signer, and kiln's Redis for the catalog
 * when KILN_REDIS_URL is set (`kiln build --push` publishes with or without one).
 */
export interface PublishContext {
  config: Config;
  log: Logger;
  /** kiln's own Redis client: the catalog and caches; undefined without KILN_REDIS_URL. */
  redis: Redis | undefined;
  registry: RegistryClient;
  /** Repository prefix from KILN_REGISTRY, e.g. `kiln`. */
  namespace: string;
  signer: Signer | undefined;
  close(): Promise<void>;
}

/** What the build and publish jobs share in one process: connections and the signer, made once. */
export interface PipelineContext extends PublishContext {
  /** kiln's own Redis client: the catalog and caches (BullMQ has its own connections). */
  redis: Redis;
  /** The flow producer planning enqueues through, made on first use (a worker never needs one). */
  flows(): FlowProducer;
}

/** The registry and the signer from KILN_REGISTRY and KILN_SIGNING_KEY, checked. */
async function publishTarget(config: Config, who: string) {
  if (!config.registry) throw new Error(`KILN_REGISTRY is required ${who}`);
  const { host, namespace } = splitRegistry(config.registry);
  const signer = await signerFromConfig(config);
  if (!signer && !config.allowUnsigned) {
    throw new Error(
      'no signing key: set KILN_SIGNING_KEY (kiln keygen makes one), or KILN_ALLOW_UNSIGNED=true to publish unsigned images',
    );
  }
  return { registry: await registryClientFor(host, config), namespace, signer };
}

/** For `kiln build --push`: the queue is not needed, Redis only when configured (the catalog). */
export async function createPublishContext(config: Config, log: Logger): Promise<PublishContext> {
  const target = await publishTarget(config, 'to publish');
  const redis = config.redisUrl ? createRedis(config.redisUrl) : undefined;
  return {
    config,
    log,
    redis,
    ...target,
    async close() {
      redis?.disconnect();
    },
  };
}

export async function createPipelineContext(config: Config, log: Logger): Promise<PipelineContext> {
  if (!config.redisUrl) throw new Error('KILN_REDIS_URL is required by the workers');
  const target = await publishTarget(config, 'by the workers');
  const redis = createRedis(config.redisUrl);
  const redisUrl = config.redisUrl;
  let flows: FlowProducer | undefined;
  return {
    config,
    log,
    redis,
    ...target,
    flows() {
      flows ??= createFlowProducer(redisOptions(redisUrl), config.queuePrefix);
      return flows;
    },
    async close() {
      await flows?.close();
      redis.disconnect();
    },
  };
}

/** `namespace/repository`: where a recipe's images live on the registry. */
export function repositoryPath(
  ctx: Pick<PipelineContext, 'namespace'>,
  repository: string,
): string {
  return ctx.namespace ? `${ctx.namespace}/${repository}` : repository;
}
