import type { FastifyPluginAsync } from 'fastify';
import type { RedisClient } from '../../queue/connection.ts';
import { checkReadiness, type RegistryProbe } from '../readiness.ts';

export interface HealthOptions {
  /** Checked by `/readyz` with `PING`. */
  redis: RedisClient;
  /** Checked by `/readyz`; none means not ready ("no registry configured"). */
  registry: RegistryProbe | undefined;
}

/** `/healthz` (the process is up) and `/readyz` (Redis and the registry answer). */
export const healthRoutes: FastifyPluginAsync<HealthOptions> = async (app, { redis, registry }) => {
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_request, reply) => {
    const result = await checkReadiness(redis, registry);
    return reply.code(result.ready ? 200 : 503).send(result);
  });
};
