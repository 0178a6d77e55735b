import { Queue } from 'bullmq';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { redisCatalog, type CatalogReader } from '../../src/api/catalog-reader.ts';
import { registryProbeFromConfig } from '../../src/api/readiness.ts';
import { assetRoutes } from '../../src/api/routes/assets.ts';
import { catalogPageRoutes } from '../../src/api/routes/catalog-pages.ts';
import { dashboardRoutes } from '../../src/api/routes/dashboard.ts';
import { healthRoutes } from '../../src/api/routes/health.ts';
import { imageApiRoutes } from '../../src/api/routes/image-api.ts';
import { jobApiRoutes } from '../../src/api/routes/job-api.ts';
import { metricsRoutes } from '../../src/api/routes/metrics.ts';
import { createApiServer } from '../../src/api/server.ts';
import { recordUpstreamCheck } from '../../src/catalog/signals.ts';
import { clearCatalog, recordPublished } from '../../src/catalog/store.ts';
import { loadConfig, type Config } from '../../src/config.ts';
import { createLogger } from '../../src/log.ts';
import type { RedisClient } from '../../src/queue/connection.ts';
import { redisKeys } from '../../src/queue/keys.ts';
import { sampleRecord } from '../catalog/fixtures.ts';
import { testRedis, testRegistryHost, uniqueName } from '../helpers/stack.ts';

/*
 * The route plugins of src/api/routes, each registered alone on a bare Fastify with only the
 * options it declares (so none leans on something another plugin or the server set up), and
 * what createApiServer adds around them: the error handler, the request log, the assets' ETag.
 */

const TOKEN = 'routes-test-token-0123456789';
const log = createLogger({ level: 'silent' });
let redis: RedisClient;
let config: Config;
let catalog: CatalogReader;
let queue: Queue;

beforeAll(async () => {
  redis = testRedis();
  config = loadConfig({
    KILN_QUEUE_PREFIX: uniqueName('routes'),
    KILN_REGISTRY: `${testRegistryHost()}/kiln`,
    KILN_API_TOKEN: TOKEN,
  });
  catalog = redisCatalog(redis, config.queuePrefix);
  queue = new Queue('build', { connection: redis, prefix: config.queuePrefix });
  await recordPublished(redis, config.queuePrefix, sampleRecord({ recipe: 'app' }));
  await recordUpstreamCheck(redis, config.queuePrefix, 'github', 'ok');
});

afterAll(async () => {
  await queue.obliterate({ force: true });
  await queue.close();
  await clearCatalog(redis, config.queuePrefix);
  await redis.del(redisKeys(config.queuePrefix).signals.checks);
  await redis.quit();
});

/** A bare Fastify holding one plugin: nothing from createApiServer. */
async function alone(register: (app: FastifyInstance) => Promise<unknown>) {
  const app = Fastify();
  await register(app);
  return app;
}

describe('each route plugin, registered alone', () => {
  const cases: {
    plugin: string;
    register: (app: FastifyInstance) => Promise<unknown>;
    request: { url: string; headers?: Record<string, string> };
    check: (status: number, body: string) => void;
  }[] = [
    {
      plugin: 'health',
      register: async (app) =>
        app.register(healthRoutes, { redis, registry: registryProbeFromConfig(config) }),
      request: { url: '/readyz' },
      check: (status, body) => {
        expect(status).toBe(200);
        expect(JSON.parse(body)).toMatchObject({ ready: true });
      },
    },
    {
      // Its options must not be named `prefix`: Fastify would take that for a route prefix.
      plugin: 'metrics',
      register: async (app) =>
        app.register(metricsRoutes, {
          redis,
          queuePrefix: config.queuePrefix,
          catalog,
          queues: [queue],
          staleAfterMs: config.staleAfterMs,
          log,
        }),
      request: { url: '/metrics' },
      check: (status, body) => {
        expect(status).toBe(200);
        expect(body).toMatch(/^kiln_images 1$/m);
        expect(body).toMatch(/^kiln_queue_depth\{queue="build"\} 0$/m);
        expect(body).toMatch(/^kiln_upstream_checks_total\{source="github",outcome="ok"\} 1$/m);
      },
    },
    {
      plugin: 'image API',
      register: async (app) => app.register(imageApiRoutes, { config, catalog }),
      request: { url: '/api/images/app' },
      check: (status, body) => {
        expect(status).toBe(200);
        expect(JSON.parse(body)).toMatchObject({ name: 'app', latestVersion: '1.2.3' });
      },
    },
    {
      plugin: 'job API',
      register: async (app) => app.register(jobApiRoutes, { queues: [queue] }),
      request: { url: '/api/jobs' },
      check: (status, body) => {
        expect(status).toBe(200);
        expect(JSON.parse(body)).toMatchObject({ queues: [{ name: 'build' }], jobs: [] });
      },
    },
    {
      plugin: 'catalog pages',
      register: async (app) => app.register(catalogPageRoutes, { config, catalog }),
      request: { url: '/images/app' },
      check: (status, body) => {
        expect(status).toBe(200);
        expect(body).toContain('<h1>app</h1>');
        expect(body).toContain('id="cmd-pull"');
      },
    },
    {
      plugin: 'assets',
      register: async (app) => app.register(assetRoutes),
      request: { url: '/assets/catalog.css' },
      check: (status, body) => {
        expect(status).toBe(200);
        expect(body.length).toBeGreaterThan(100);
      },
    },
    {
      plugin: 'dashboard',
      register: async (app) => app.register(dashboardRoutes, { queues: [queue], token: TOKEN }),
      request: { url: '/queues/api/queues', headers: { authorization: `Bearer ${TOKEN}` } },
      check: (status, body) => {
        expect(status).toBe(200);
        expect(body).toContain('build');
      },
    },
  ];

  for (const { plugin, register, request, check } of cases) {
    it(`${plugin} serves ${request.url}`, async () => {
      const app = await alone(register);
      try {
        const res = await app.inject(request);
        check(res.statusCode, res.body);
      } finally {
        await app.close();
      }
    });
  }

  it('the dashboard guards every path under /queues in its own scope only', async () => {
    const app = await alone(async (a) => {
      await a.register(dashboardRoutes, { queues: [queue], token: TOKEN });
      await a.register(healthRoutes, { redis, registry: undefined });
    });
    try {
      expect((await app.inject('/queues/api/queues')).statusCode).toBe(401);
      expect((await app.inject('/healthz')).statusCode).toBe(200);
    } finally {
      await app.close();
    }
  });
});

describe('around the plugins', () => {
  it('a failed read is a 500 with the reason as JSON; an unknown path a 404', async () => {
    const failing: CatalogReader = {
      listImages: async () => {
        throw new Error('catalog unreadable: connection reset');
      },
      getImage: async () => undefined,
      tagHistory: async () => [],
    };
    const app = await createApiServer({ config, redis, catalog: failing, log });
    try {
      const res = await app.inject('/api/images');
      expect(res.statusCode).toBe(500);
      expect(res.json()).toEqual({
        error: 'internal error: catalog unreadable: connection reset',
      });
      expect((await app.inject('/')).statusCode).toBe(500);
      expect((await app.inject('/no/such/page')).statusCode).toBe(404);
    } finally {
      await app.close();
    }
  });

  it('serves the stylesheet with an ETag and answers 304 to If-None-Match', async () => {
    const app = await createApiServer({ config, redis, log });
    try {
      const first = await app.inject('/assets/catalog.css');
      expect(first.headers['content-type']).toBe('text/css; charset=utf-8');
      const etag = String(first.headers.etag);
      expect(etag).toMatch(/^"[\w-]{22}"$/);
      const again = await app.inject({
        url: '/assets/catalog.css',
        headers: { 'if-none-match': etag },
      });
      expect(again.statusCode).toBe(304);
      expect(again.body).toBe('');
    } finally {
      await app.close();
    }
  });

  it('logs each request by path: a dashboard token in the query string never reaches the log', async () => {
    const lines: string[] = [];
    const logger = createLogger({ level: 'debug' }, { write: (line: string) => lines.push(line) });
    const app = await createApiServer({ config, redis, queues: [queue], log: logger });
    try {
      expect((await app.inject(`/queues?token=${TOKEN}`)).statusCode).toBe(303);
    } finally {
      await app.close();
    }
    const requests = lines.map((l) => JSON.parse(l)).filter((l) => l.msg === 'request');
    expect(requests).toEqual([
      expect.objectContaining({ method: 'GET', path: '/queues', status: 303 }),
    ]);
    expect(lines.join('\n')).not.toContain('token=');
    expect(lines.join('\n')).not.toContain(TOKEN);
  });
});
