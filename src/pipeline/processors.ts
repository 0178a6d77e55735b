import { fileURLToPath } from 'node:url';
import type { Processors, SandboxedProcessors } from '../queue/workers.ts';
import { runBuildJob } from './build-job.ts';
import type { PipelineContext } from './context.ts';
import { runPublishJob } from './publish-job.ts';
import { workerChildEnv } from './worker-context.ts';

/**
 * The real processors as `kiln worker` and `kiln up` run them: workers/build.ts and
 * workers/publish.ts, one child process per job, over this process's configuration.
 */
export function pipelineProcessors(ctx: PipelineContext): SandboxedProcessors {
  return {
    kind: 'sandboxed',
    files: { build: processorFile('build'), publish: processorFile('publish') },
    env: workerChildEnv(ctx.config),
  };
}

/** The same processors run in this process: what a job's child runs, and tests that wrap them. */
export function inProcessProcessors(ctx: PipelineContext): Processors {
  return {
    build: (data, job) => runBuildJob(ctx, data, job),
    publish: (data, builds, job) => runPublishJob(ctx, data, builds, job),
  };
}

/**
 * The processor file of a queue: the TypeScript source beside src/ when kiln runs from its
 * sources, the bundled entry beside this chunk when it runs from dist/ (scripts/build.js).
 */
function processorFile(queue: 'build' | 'publish'): string {
  const fromSources = import.meta.url.endsWith('.ts');
  const file = fromSources ? `../../workers/${queue}.ts` : `./worker-${queue}.js`;
  return fileURLToPath(new URL(file, import.meta.url));
}
