import type { FastifyPluginAsync } from 'fastify';
import { createMetrics, type MetricsOptions } from '../metrics.ts';

/** MetricsOptions with `prefix` renamed: in a plugin's options `prefix` is Fastify's route prefix. */
export interface MetricsRouteOptions extends Omit<MetricsOptions, 'prefix'> {
  /** config.queuePrefix: where the watcher's signals live. */
  queuePrefix: string;
}

/**
 * `GET /metrics` in the Prometheus text format. The plugin owns the metrics' queue-event
 * listeners: connected before it finishes loading, closed with the server.
 */
export const metricsRoutes: FastifyPluginAsync<MetricsRouteOptions> = async (app, options) => {
  const { queuePrefix, ...rest } = options;
  const metrics = createMetrics({ ...rest, prefix: queuePrefix });
  app.addHook('onClose', async () => metrics.close());
  await metrics.ready();
  app.get('/metrics', async (_request, reply) => {
    const text = await metrics.render();
    return reply.type(metrics.registry.contentType).send(text);
  });
};
