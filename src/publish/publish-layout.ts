import type { BuildOutput } from '../build/types.ts';
import type { BuildResult, PublishResult } from '../queue/types.ts';
import { publishImage, type PublishOptions } from './publish-image.ts';
import { pushArchImage, type PushArchOptions } from './push-arch.ts';

export interface PublishLayoutOptions extends Omit<PublishOptions, 'archResults'> {
  /** What the builder produced: the layout and, per arch, its manifest and packages. */
  output: BuildOutput;
  builder: { id: string; version: string };
  startedAt: string;
  finishedAt: string;
  push?: PushArchOptions;
}

/**
 * `kiln build --push`: pushes every arch image of a local layout, then publishes them as one
 * signed, attested, tagged image exactly as the queue's publish job does.
 */
export async function publishLayout(options: PublishLayoutOptions): Promise<PublishResult> {
  const { client, repository, output } = options;
  const archResults: BuildResult[] = [];
  for (const arch of output.archs) {
    const pushed = await pushArchImage(
      client,
      repository,
      output.layoutDir,
      arch.manifest,
      options.push,
    );
    archResults.push({
      arch: arch.arch,
      manifest: arch.manifest,
      size: pushed.size,
      packages: arch.packages,
      materials: output.materials,
      tests: arch.tests,
      ...(arch.lockfileDigest ? { lockfileDigest: arch.lockfileDigest } : {}),
      builder: options.builder,
      startedAt: options.startedAt,
      finishedAt: options.finishedAt,
    });
  }
  return publishImage({ ...options, archResults });
}
