/*
 * The build queue's sandboxed processor: BullMQ forks a child process that imports this file and
 * runs one build job (one arch of one request) at a time in it. The work is src/pipeline's.
 */
import { runBuildJob } from '../src/pipeline/build-job.ts';
import { childLogger, childPipelineContext } from '../src/pipeline/worker-context.ts';
import { sandboxedProcessor } from '../src/queue/sandboxed-job.ts';
import type { BuildJobData } from '../src/queue/types.ts';
import type { BuildResult } from '../src/model/build-result.ts';

export default sandboxedProcessor<BuildJobData, BuildResult>(
  async (data, job) => runBuildJob(await childPipelineContext(), data, job),
  childLogger,
);
