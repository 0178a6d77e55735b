import type { Queue } from 'bullmq';
import Fastify, {
  LogController,
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyPluginAsync,
} from 'fastify';
import type { RedisClient } from '../queue/connection.ts';
import { z } from 'zod';
import type { Config } from '../config.ts';
import { describeError } from '../errors.ts';
import type { Logger } from '../log.ts';
import { registerAssets } from './assets.ts';
import { redisCatalog, type CatalogReader } from './catalog-reader.ts';
import { registerDashboard } from './dashboard.ts';
import { detailView, summaryView } from './image-view.ts';
import { jobStates, listJobs } from './jobs.ts';
import { createMetrics } from './metrics.ts';
import { catalogPage } from './pages/catalog-page.ts';
import { html } from './pages/html.ts';
import { imagePage } from './pages/image-page.ts';
import { layout } from './pages/layout.ts';
import { responseCache, type ResponseCache } from './response-cache.ts';
import { checkReadiness, registryProbeFromConfig, type RegistryProbe } from './readiness.ts';

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

const imageParams = z.object({ name: z.string().regex(/^[a-z0-9][a-z0-9._-]{0,127}$/) });
const jobsQuery = z.object({
  state: z.enum(jobStates).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(50),
});

/** The API server: health, metrics, JSON API, catalog pages, queue dashboard, webhooks. Not yet listening. */
export async function createApiServer(options: ApiServerOptions): Promise<FastifyInstance> {
  const { config, redis } = options;
  const queues = options.queues ?? [];
  const catalog = options.catalog ?? redisCatalog(redis, config.queuePrefix);
  const registry = options.registryClient ?? registryProbeFromConfig(config);
  const log = options.log.child({ part: 'api' });
  const read = (now = Date.now()) => ({ staleAfterMs: config.staleAfterMs, now });

  // Request logging is ours (below) so query strings, which may hold the dashboard token, never reach logs.
  const loggerInstance: FastifyBaseLogger = log;
  const app = Fastify({
    loggerInstance,
    logController: new LogController({ disableRequestLogging: true }),
    routerOptions: { ignoreTrailingSlash: true },
  });
  app.addHook('onResponse', async (request, reply) => {
    log.debug(
      {
        method: request.method,
        path: request.url.split('?')[0],
        status: reply.statusCode,
        ms: Math.round(reply.elapsedTime),
      },
      'request',
    );
  });
  app.setErrorHandler(async (error, request, reply) => {
    const status =
      typeof error === 'object' &&
      error !== null &&
      'statusCode' in error &&
      typeof error.statusCode === 'number'
        ? error.statusCode
        : 500;
    if (status >= 500) log.error({ err: error, path: request.url.split('?')[0] }, 'request failed');
    return reply.code(status).send({
      error: status >= 500 ? `internal error: ${describeError(error)}` : describeError(error),
    });
  });

  const metrics = createMetrics({
    redis,
    prefix: config.queuePrefix,
    catalog,
    queues,
    staleAfterMs: config.staleAfterMs,
    log,
  });
  app.addHook('onClose', async () => metrics.close());
  await metrics.ready();

  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_request, reply) => {
    const result = await checkReadiness(redis, registry);
    return reply.code(result.ready ? 200 : 503).send(result);
  });
  app.get('/metrics', async (_request, reply) => {
    const text = await metrics.render();
    return reply.type(metrics.registry.contentType).send(text);
  });

  // The JSON shows how long pending releases have waited: it may lag the clock by 5 s.
  const imagesJson = cached(
    catalog,
    (now) => String(Math.floor(now / 5000)),
    async (now) => {
      const { images, freshness } = await catalog.listImages(read(now));
      return JSON.stringify({
        images: images.map((i) => summaryView(config, i)),
        freshness: {
          images: freshness.count,
          medianSeconds:
            freshness.medianMs === undefined ? null : Math.round(freshness.medianMs / 1000),
          p95Seconds: freshness.p95Ms === undefined ? null : Math.round(freshness.p95Ms / 1000),
        },
        staleAfterSeconds: Math.round(config.staleAfterMs / 1000),
      });
    },
  );
  app.get('/api/images', async (_request, reply) =>
    reply.type('application/json; charset=utf-8').send(await imagesJson.get()),
  );
  app.get('/api/images/:name', async (request, reply) => {
    const params = imageParams.safeParse(request.params);
    const image = params.success ? await catalog.getImage(params.data.name, read()) : undefined;
    if (!image)
      return reply.code(404).send({
        error: `no image named ${params.success ? params.data.name : 'like that'} in the catalog`,
      });
    return { ...detailView(config, image), history: await catalog.tagHistory(image.name) };
  });
  app.get('/api/jobs', async (request, reply) => {
    const query = jobsQuery.safeParse(request.query);
    if (!query.success)
      return reply.code(400).send({ error: `bad query: ${z.prettifyError(query.error)}` });
    return listJobs(queues, {
      states: query.data.state ? [query.data.state] : undefined,
      limit: query.data.limit,
    });
  });

  // The page shows time only through stale badges (bounds of hours): a 30 s lag is invisible.
  const catalogHtml = cached(
    catalog,
    (now) => String(Math.floor(now / 30_000)),
    async (now) => {
      const { images, freshness } = await catalog.listImages(read(now));
      return catalogPage(
        images.map((i) => summaryView(config, i)),
        freshness,
      ).value;
    },
  );
  app.get('/', async (_request, reply) =>
    reply.type('text/html; charset=utf-8').send(await catalogHtml.get()),
  );
  app.get('/images/:name', async (request, reply) => {
    const params = imageParams.safeParse(request.params);
    const image = params.success ? await catalog.getImage(params.data.name, read()) : undefined;
    reply.type('text/html; charset=utf-8');
    if (!image) {
      return reply.code(404).send(
        layout(
          'not found · kiln',
          html`<h1>Not found</h1>
            <p>No image by that name. <a href="/">All images</a></p>`,
        ).value,
      );
    }
    return reply.send(
      imagePage(detailView(config, image), await catalog.tagHistory(image.name)).value,
    );
  });
  await registerAssets(app);

  if (queues.length > 0) await registerDashboard(app, queues, config.apiToken);
  if (options.watcherRoutes) await app.register(options.watcherRoutes);
  return app;
}

/**
 * Lists are cached by catalog revision plus `timeKey` (what the time-dependent part depends on)
 * when the reader has a revision; otherwise they are rendered for each request.
 */
function cached(
  catalog: CatalogReader,
  timeKey: (now: number) => string | Promise<string>,
  render: (now: number) => Promise<string>,
): ResponseCache {
  const revision = catalog.revision;
  if (!revision) return { get: async () => Buffer.from(await render(Date.now())) };
  return responseCache(
    async (now) => `${await revision.call(catalog)}@${await timeKey(now)}`,
    render,
  );
}
