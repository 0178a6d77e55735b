import { Queue } from 'bullmq';
import type { Command } from 'commander';
import { listJobs } from '../api/jobs.ts';
import { listImages } from '../catalog/store.ts';
import { createRedis, redisOptions } from '../queue/connection.ts';
import { QueueName } from '../queue/names.ts';
import { CliExit, cliContext, ExitCode } from './context.ts';

export function registerStatus(program: Command): void {
  program
    .command('status')
    .option('--json', 'print JSON')
    .option('--limit <n>', 'jobs listed per state', '10')
    .description('queue depth, running and failed jobs, and the last published version of each image')
    .action(async (opts: { json?: boolean; limit: string }) => {
      const { config } = cliContext();
      if (!config.redisUrl) {
        throw new CliExit('kiln status: set KILN_REDIS_URL to the Redis that kiln up / kiln worker use', ExitCode.usage);
      }
      const connection = redisOptions(config.redisUrl);
      const queues = [QueueName.build, QueueName.publish].map((name) => new Queue(name, { connection, prefix: config.queuePrefix }));
      const redis = createRedis(config.redisUrl);
      try {
        const limit = Number(opts.limit) || 10;
        const jobs = await listJobs(queues, { states: ['active', 'failed', 'waiting', 'prioritized', 'delayed'], limit });
        const { images, freshness } = await listImages(redis, config.queuePrefix, { staleAfterMs: config.staleAfterMs });
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
        if (opts.json) {
          process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
          return;
        }
        const out: string[] = [];
        out.push('QUEUE     ' + ['active', 'waiting', 'prioritized', 'waiting-children', 'delayed', 'failed', 'completed'].map((s) => s.padStart(8)).join(' '));
        for (const q of result.queues) {
          out.push(q.name.padEnd(10) + ['active', 'waiting', 'prioritized', 'waiting-children', 'delayed', 'failed', 'completed'].map((s) => String(q.counts[s] ?? 0).padStart(8)).join(' '));
        }
        out.push('', `RUNNING (${result.running.length})`);
        for (const j of result.running) out.push(`  ${j.name}  attempt ${j.attemptsMade + 1}  since ${j.startedAt ?? '?'}`);
        out.push('', `FAILED (${result.failed.length})`);
        for (const j of result.failed) out.push(`  ${j.name}: ${j.failedReason ?? 'no reason recorded'}`);
        out.push('', `IMAGES (${result.images.length})`);
        for (const i of result.images) {
          const fresh = i.freshnessMs === undefined ? 'freshness unknown' : `fresh in ${Math.round(i.freshnessMs / 60_000)} min`;
          out.push(`  ${i.name.padEnd(20)} ${`${i.version}-r${i.epoch}`.padEnd(22)} ${i.publishedAt}  ${fresh}${i.stale ? '  STALE' : ''}`);
        }
        process.stdout.write(`${out.join('\n')}\n`);
      } finally {
        await Promise.all(queues.map((q) => q.close()));
        redis.disconnect();
      }
    });
}
