import type { Processors } from '../queue/workers.ts';
import { runBuildJob } from './build-job.ts';
import type { PipelineContext } from './context.ts';
import { runPublishJob } from './publish-job.ts';

/** The real processors: builders, the registry, the signer and the catalog. */
export function pipelineProcessors(ctx: PipelineContext): Processors {
  return {
    build: (data, job) => runBuildJob(ctx, data, job),
    publish: (data, builds, job) => runPublishJob(ctx, data, builds, job),
  };
}
