import type { Command } from 'commander';
import { jobStates, listJobs } from '../api/jobs.ts';
import { listImages } from '../catalog/store.ts';
import { createRedis, redisOptions } from '../queue/connection.ts';
import { openQueues } from '../queue/queues.ts';
import { readEndpoints } from '../run/local-defaults.ts';
import { CliExit, cliContext, ExitCode } from './context.ts';
import { printResult, renderTable } from './table.ts';

/** The states a person reads, in queue order (`paused` is left out: kiln never pauses). */
const counted = jobStates.filter((s) => s !== 'paused');

type StatusResult = {
  queues: { name: string; counts: Record<string, number> }[];
  running: {
    name: string;
    attemptsMade: number;
    startedAt: string | undefined;
    progress: { stage: string; percent: number | undefined } | undefined;
  }[];
  failed: { name: string; queue: string; failedReason: string | undefined }[];
  images: {
    name: string;
    version: string;
    epoch: number;
    publishedAt: string;
    freshnessMs: number | undefined;
    stale: boolean;
  }[];
};

/** What a person reads: a publish job that failed because its build failed is the build's failure, shown once. */
function humanStatus(r: StatusResult, color: boolean): string {
  const out: string[] = [];
  out.push(
    renderTable(
      r.queues,
      [
        { header: 'QUEUE', value: (q) => q.name },
        ...counted.map((s) => ({
          header: s.toUpperCase(),
          value: (q: StatusResult['queues'][number]) => q.counts[s] ?? 0,
          align: 'right' as const,
        })),
      ],
      { color },
    ),
  );
  out.push(`RUNNING (${r.running.length})`);
  for (const j of r.running) {
    const stage = j.progress
      ? `  ${j.progress.stage}${j.progress.percent === undefined ? '' : ` ${j.progress.percent}%`}`
      : '';
    out.push(`  ${j.name}${stage}  attempt ${j.attemptsMade + 1}  since ${j.startedAt ?? '?'}`);
  }
  const rootCauses = r.failed.filter(
    (j) => !(j.queue === 'publish' && /^child .* failed$/.test(j.failedReason ?? '')),
  );
  out.push('', `FAILED (${rootCauses.length})`);
  for (const j of rootCauses) out.push(`  ${j.name}: ${j.failedReason ?? 'no reason recorded'}`);
  out.push('', `IMAGES (${r.images.length})`);
  if (r.images.length > 0) {
    out.push(
      renderTable(
        r.images,
        [
          { header: 'IMAGE', value: (i) => i.name },
          { header: 'VERSION', value: (i) => `${i.version}-r${i.epoch}` },
          { header: 'PUBLISHED', value: (i) => i.publishedAt },
          {
            header: 'FRESHNESS',
            value: (i) =>
              i.freshnessMs === undefined ? 'unknown' : `${Math.round(i.freshnessMs / 60_000)} min`,
          },
          {
            header: 'STALE',
            value: (i) => (i.stale ? 'STALE' : ''),
            color: (i) => (i.stale ? 'red' : undefined),
          },
        ],
        { color },
      ).trimEnd(),
    );
  }
  return `${out.join('\n')}\n`;
}

export function registerStatus(program: Command): void {
  program
    .command('status')
    .option('--json', 'print JSON')
    .option('--limit <n>', 'jobs listed per state', '10')
    .description(
      'queue depth, running and failed jobs, and the last published version of each image',
    )
    .action(async (opts: { json?: boolean; limit: string }) => {
      const { config: loaded } = cliContext({ interactive: true });
      // A running `kiln up` wrote where its own Redis is.
      const config = loaded.redisUrl
        ? loaded
        : { ...loaded, redisUrl: (await readEndpoints(loaded.stateDir))?.redisUrl };
      if (!config.redisUrl) {
        throw new CliExit(
          'kiln status: set KILN_REDIS_URL to the Redis that kiln up / kiln worker use',
          ExitCode.usage,
        );
      }
      const connection = redisOptions(config.redisUrl);
      const queues = openQueues({ connection, prefix: config.queuePrefix }).all;
      const redis = createRedis(config.redisUrl);
      try {
        const limit = Number(opts.limit) || 10;
        const jobs = await listJobs(queues, {
          states: ['active', 'failed', 'waiting', 'prioritized', 'delayed'],
          limit,
        });
        const { images, freshness } = await listImages(redis, config.queuePrefix, {
          staleAfterMs: config.staleAfterMs,
        });
        const result = {
          queues: jobs.queues,
          running: jobs.jobs.filter((j) => j.state === 'active'),
          failed: jobs.jobs.filter((j) => j.state === 'failed'),
          images: images.map((i) => ({
            name: i.name,
            version: i.latest.version,
            epoch: i.latest.epoch,
            digest: i.latest.digest,
            publishedAt: i.latest.publishedAt,
            freshnessMs: i.freshnessMs,
            stale: i.staleness.stale,
          })),
          freshness,
        };
        printResult(result, {
          json: opts.json === true,
          human: (r, color) => humanStatus(r, color),
        });
      } finally {
        await Promise.all(queues.map((q) => q.close()));
        redis.disconnect();
      }
    });
}
