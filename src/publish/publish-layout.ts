import type { BuildOutput } from '../build/types.ts';
import type { BuildResult } from '../model/build-result.ts';
import type { PublishResult } from '../model/publish-result.ts';
import { publishImage, type PublishOptions } from './publish-image.ts';
import { pushArchImage, type PushArchOptions } from './push-arch.ts';

export interface PushLayoutOptions extends Pick<PublishOptions, 'client' | 'repository'> {
  /** What the builder produced: the layout and, per arch, its manifest and packages. */
  output: BuildOutput;
  builder: { id: string; version: string };
  startedAt: string;
  finishedAt: string;
  push?: PushArchOptions;
}

export interface PublishLayoutOptions
  extends Omit<PublishOptions, 'archResults'>, PushLayoutOptions {}

/**
 * Pushes every arch image of a local layout by digest (untagged), and describes each as the
 * queue's build job would: what `kiln build --push` hands to the publish step.
 */
export async function pushLayout(options: PushLayoutOptions): Promise<BuildResult[]> {
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
  return archResults;
}

/** Pushes a whole layout, then publishes it as one signed, attested, tagged image. */
export async function publishLayout(options: PublishLayoutOptions): Promise<PublishResult> {
  return publishImage({ ...options, archResults: await pushLayout(options) });
}
