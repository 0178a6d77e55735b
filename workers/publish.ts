/*
 * The publish queue's sandboxed processor: in a child process, takes the build jobs' results
 * (the flow's children) and publishes the image: index, signature, attestations, tags, catalog.
 */
import { runPublishJob } from '../src/pipeline/publish-job.ts';
import { childLogger, childPipelineContext } from '../src/pipeline/worker-context.ts';
import { buildsOf } from '../src/queue/job-context.ts';
import { sandboxedProcessor } from '../src/queue/sandboxed-job.ts';
import type { PublishJobData } from '../src/queue/types.ts';
import type { BuildResult } from '../src/model/build-result.ts';
import type { PublishResult } from '../src/model/publish-result.ts';

export default sandboxedProcessor<PublishJobData, PublishResult>(async (data, job, sandboxed) => {
  const builds = buildsOf(await sandboxed.getChildrenValues<BuildResult>());
  return runPublishJob(await childPipelineContext(), data, builds, job);
}, childLogger);
