import type { Queue } from 'bullmq';
import type { FastifyPluginAsync } from 'fastify';
import { z } from 'zod';
import { jobStates, listJobs } from '../jobs.ts';

export interface JobApiOptions {
  /** The queues listed; none gives empty lists. */
  queues: readonly Queue[];
}

const jobsQuery = z.object({
  state: z.enum(jobStates).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(50),
});

/** `GET /api/jobs?state=&limit=`: job counts per queue and state, and the jobs themselves. */
export const jobApiRoutes: FastifyPluginAsync<JobApiOptions> = async (app, { queues }) => {
  app.get('/api/jobs', async (request, reply) => {
    const query = jobsQuery.safeParse(request.query);
    if (!query.success)
      return reply.code(400).send({ error: `bad query: ${z.prettifyError(query.error)}` });
    return listJobs(queues, {
      states: query.data.state ? [query.data.state] : undefined,
      limit: query.data.limit,
    });
  });
};
