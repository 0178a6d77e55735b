import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { FastifyAdapter } from '@bull-board/fastify';
import type { Queue } from 'bullmq';
import type { FastifyInstance } from 'fastify';
import { tokenGuard } from './auth.ts';

export const DASHBOARD_PATH = '/queues';

/** bull-board's BullMQ dashboard at /queues, inside its own scope so the token check covers all of it. */
export async function registerDashboard(
  app: FastifyInstance,
  queues: readonly Queue[],
  token: string | undefined,
): Promise<void> {
  await app.register(async (scope) => {
    scope.addHook('onRequest', tokenGuard(token, DASHBOARD_PATH));
    if (!token) {
      // Closed: the guard answers 403 for everything under the path.
      scope.all(DASHBOARD_PATH, async () => undefined);
      scope.all(`${DASHBOARD_PATH}/*`, async () => undefined);
      return;
    }
    const adapter = new FastifyAdapter();
    createBullBoard({
      queues: queues.map((q) => new BullMQAdapter(q)),
      serverAdapter: adapter,
      options: { uiConfig: { boardTitle: 'kiln queues' } },
    });
    adapter.setBasePath(DASHBOARD_PATH);
    await scope.register(adapter.registerPlugin(), { prefix: DASHBOARD_PATH });
  });
}
