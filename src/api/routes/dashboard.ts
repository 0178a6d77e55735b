import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { FastifyAdapter } from '@bull-board/fastify';
import type { Queue } from 'bullmq';
import type { FastifyPluginAsync } from 'fastify';
import { tokenGuard } from '../auth.ts';

export const DASHBOARD_PATH = '/queues';

export interface DashboardOptions {
  /** The queues shown; none means no dashboard at all (404). */
  queues: readonly Queue[];
  /** KILN_API_TOKEN; undefined closes the dashboard (403). */
  token: string | undefined;
}

/** bull-board's BullMQ dashboard at /queues; the token check is a hook of this plugin's scope, so it covers all of it. */
export const dashboardRoutes: FastifyPluginAsync<DashboardOptions> = async (app, options) => {
  const { queues, token } = options;
  if (queues.length === 0) return;
  app.addHook('onRequest', tokenGuard(token, DASHBOARD_PATH));
  if (!token) {
    // Closed: the guard answers 403 for everything under the path.
    app.all(DASHBOARD_PATH, async () => undefined);
    app.all(`${DASHBOARD_PATH}/*`, async () => undefined);
    return;
  }
  const adapter = new FastifyAdapter();
  createBullBoard({
    queues: queues.map((q) => new BullMQAdapter(q)),
    serverAdapter: adapter,
    options: { uiConfig: { boardTitle: 'kiln queues' } },
  });
  adapter.setBasePath(DASHBOARD_PATH);
  await app.register(adapter.registerPlugin(), { prefix: DASHBOARD_PATH });
};
