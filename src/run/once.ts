import { createPublicKey } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { Queue } from 'bullmq';
import { execa } from 'execa';
import type { Config } from '../config.ts';
import { describeError } from '../errors.ts';
import type { Logger } from '../log.ts';
import { parseReference } from '../oci/reference.ts';
import type { RecipePlan } from '../plan/plan-recipes.ts';
import type { PipelineContext } from '../pipeline/context.ts';
import { redisOptions } from '../queue/connection.ts';
import type { EnqueuedFlow } from '../queue/enqueue.ts';
import { requestKey } from '../queue/ids.ts';
import { QueueName } from '../queue/names.ts';
import { findJob, openQueue, openQueueEvents } from '../queue/queues.ts';
import type { PublishResult } from '../model/publish-result.ts';
import { which } from '../local-services/packages.ts';
import { verifyImage } from '../sign/verify.ts';
import { vexSummary } from '../sign/verify-summary.ts';

export interface OnceOutcome {
  recipe: string;
  stream: string;
  outcome: 'published' | 'up-to-date' | 'held' | 'failed';
  /** What the table prints: for a publish, `X.Y.Z-rN <digest> tags …; build tag X.Y.Z-rN-<stamp>`. */
  detail: string;
  reference?: string;
  /** The immutable build tag a publish set (or the image already had). */
  buildTag?: string;
}

/** A publish's line of the result table: version, digest, the tags set, and the build tag. */
export function publishedDetail(
  versionTag: string,
  result: Pick<PublishResult, 'digest' | 'tags' | 'buildTag'>,
): string {
  const build = result.buildTag ? `; build tag ${result.buildTag}` : '; build tag unchanged';
  return `${versionTag} ${result.digest} tags ${result.tags.join(' ')}${build}`;
}

/**
 * Waits for the publish job of every build the plan enqueued: the end of `kiln up --once`, which
 * the demo runs. Failures are reported, not thrown, so every recipe's outcome is printed.
 */
export async function waitForPlans(
  config: Config,
  cycle: { plans: readonly RecipePlan[]; flows: ReadonlyMap<string, EnqueuedFlow> },
  registry: string,
): Promise<OnceOutcome[]> {
  const { plans } = cycle;
  const connection = redisOptions(config.redisUrl ?? '');
  const at = { connection, prefix: config.queuePrefix };
  const publishQueue = openQueue('publish', at);
  const buildQueue = openQueue('build', at);
  const events = openQueueEvents(QueueName.publish, at);
  await events.waitUntilReady();
  try {
    const waits = plans.flatMap((plan) =>
      plan.decisions.map(async (d): Promise<OnceOutcome> => {
        const base = { recipe: d.recipe, stream: d.stream };
        if (d.kind !== 'build') {
          return { ...base, outcome: d.kind === 'error' ? 'failed' : d.kind, detail: d.reason };
        }
        const flow = cycle.flows.get(requestKey(d.request));
        const publishJobId = flow?.publishJobId ?? requestKey(d.request);
        const job = await findJob(publishQueue, publishJobId);
        if (!job)
          return { ...base, outcome: 'failed', detail: `publish job ${publishJobId} vanished` };
        try {
          const result: PublishResult = await job.waitUntilFinished(events);
          return {
            ...base,
            outcome: 'published',
            detail: publishedDetail(`${d.version}-r${d.epoch}`, result),
            reference: `${registry}/${d.request.repository}@${result.digest}`,
            ...(result.buildTag ? { buildTag: result.buildTag } : {}),
          };
        } catch (error) {
          return {
            ...base,
            outcome: 'failed',
            detail: await failureReason(buildQueue, flow?.buildJobIds ?? [], error),
          };
        }
      }),
    );
    return await Promise.all(waits);
  } finally {
    await events.close();
    await publishQueue.close();
    await buildQueue.close();
  }
}

/**
 * The first failed build job's reason beats the publish job's "child … failed". With
 * failParentOnFailure BullMQ records no child failure on the parent (getFailedChildrenValues
 * lists only ignored ones), so the build jobs are read by their ids.
 */
async function failureReason(
  buildQueue: Queue,
  buildJobIds: readonly string[],
  error: unknown,
): Promise<string> {
  for (const id of buildJobIds) {
    const build = await findJob(buildQueue, id).catch(() => undefined);
    if (build?.failedReason) return build.failedReason;
  }
  return describeError(error);
}

/** After a `--once` run: `kiln verify` and `skopeo inspect` of every image it published. */
export async function verifyPublished(
  ctx: PipelineContext,
  outcomes: readonly OnceOutcome[],
  publicKeyFile: string,
  log: Logger,
): Promise<{ reference: string; ok: boolean; detail: string }[]> {
  const key = createPublicKey(await readFile(publicKeyFile, 'utf8'));
  const out: { reference: string; ok: boolean; detail: string }[] = [];
  for (const o of outcomes) {
    if (o.outcome !== 'published' || !o.reference) continue;
    try {
      const report = await verifyImage(ctx.registry, parseReference(o.reference), key);
      let detail = `signature ok, ${report.attestations.length} attestations, SBOM ${report.sbom.packages} packages, provenance ${report.provenance.upstreamVersion ?? '?'}, VEX: ${vexSummary(report.vex)}`;
      if (which('skopeo')) {
        const inspected = await execa('skopeo', [
          'inspect',
          '--raw',
          '--tls-verify=false',
          `docker://${o.reference}`,
        ]);
        const index: unknown = JSON.parse(inspected.stdout);
        const count =
          typeof index === 'object' &&
          index !== null &&
          'manifests' in index &&
          Array.isArray(index.manifests)
            ? index.manifests.length
            : 0;
        detail += `; skopeo inspect: index of ${count} manifest(s)`;
      }
      out.push({ reference: o.reference, ok: true, detail });
    } catch (error) {
      log.error({ reference: o.reference, err: describeError(error) }, 'verification failed');
      out.push({ reference: o.reference, ok: false, detail: describeError(error) });
    }
  }
  return out;
}
