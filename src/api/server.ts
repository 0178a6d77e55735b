import type { Queue } from 'bullmq';
import Fastify, {
  LogController,
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyPluginAsync,
} from 'fastify';
import type { Config } from '../config.ts';
import type { Logger } from '../log.ts';
import type { RedisClient } from '../queue/connection.ts';
import { redisCatalog, type CatalogReader } from './catalog-reader.ts';
import { registryProbeFromConfig, type RegistryProbe } from './readiness.ts';
import { assetRoutes } from './routes/assets.ts';
import { catalogPageRoutes } from './routes/catalog-pages.ts';
import { dashboardRoutes } from './routes/dashboard.ts';
import { healthRoutes } from './routes/health.ts';
import { imageApiRoutes } from './routes/image-api.ts';
import { imageHistoryRoutes } from './routes/image-history.ts';
import { jobApiRoutes } from './routes/job-api.ts';
import { metricsRoutes } from './routes/metrics.ts';
import { logRequest, replyWithError } from './server-hooks.ts';

export interface ApiServerOptions {
  config: Config;
  /** Redis holding the queues and the catalog (under config.queuePrefix). */
  redis: RedisClient;
  /** BullMQ queues for /api/jobs, /metrics and the /queues dashboard; none means no job views. */
  queues?: readonly Queue[];
  /** Where published images are read from; default: the Redis catalog under config.queuePrefix. */
  catalog?: CatalogReader;
  /** Readiness check of the registry; default: `GET /v2/` on KILN_REGISTRY's host. */
  registryClient?: RegistryProbe;
  /** The watcher's webhook routes (src/watch), registered as a plugin at the root. */
  watcherRoutes?: FastifyPluginAsync;
  log: Logger;
}

/** The API server: health, metrics, JSON API, catalog pages, queue dashboard, webhooks. Not yet listening. */
export async function createApiServer(options: ApiServerOptions): Promise<FastifyInstance> {
  const { config, redis } = options;
  const queues = options.queues ?? [];
  const catalog = options.catalog ?? redisCatalog(redis, config.queuePrefix);
  const registry = options.registryClient ?? registryProbeFromConfig(config);
  const log = options.log.child({ part: 'api' });
  const app = createApp(log);

  // Each plugin is loaded when registered (awaited), so /metrics listens to queue events from here on.
  await app.register(healthRoutes, { redis, registry });
  const { queuePrefix, staleAfterMs } = config;
  await app.register(metricsRoutes, { redis, queuePrefix, catalog, queues, staleAfterMs, log });
  await app.register(imageApiRoutes, { config, catalog });
  await app.register(imageHistoryRoutes, { config, catalog });
  await app.register(jobApiRoutes, { queues });
  await app.register(catalogPageRoutes, { config, catalog });
  await app.register(assetRoutes);
  await app.register(dashboardRoutes, { queues, token: config.apiToken });
  if (options.watcherRoutes) await app.register(options.watcherRoutes);
  return app;
}

/** The Fastify instance with kiln's request log and error handler, which every plugin inherits. */
function createApp(log: Logger): FastifyInstance {
  const loggerInstance: FastifyBaseLogger = log;
  const app = Fastify({
    loggerInstance,
    // Fastify's request log would hold query strings (the dashboard token): ours logs paths.
    logController: new LogController({ disableRequestLogging: true }),
    routerOptions: { ignoreTrailingSlash: true },
  });
  app.addHook('onResponse', logRequest(log));
  app.setErrorHandler(replyWithError(log));
  return app;
}
