import type { Command } from 'commander';
import { jobStates, listJobs } from '../api/jobs.ts';
import { summariseFreshness, type FreshnessSummary } from '../catalog/freshness.ts';
import { listImages, type CatalogImage } from '../catalog/store.ts';
import { formatDuration } from '../api/pages/format.ts';
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
    digest: string;
    publishedAt: string;
    freshnessMs: number | undefined;
    stale: boolean;
    /** The last CVE scan of the latest release; null until one ran after it was published. */
    cves: { total: number; fixable: number; byUrgency: Record<string, number> } | null;
    /** This image's CVE fixes: from a fix first seen in a suite to the image without it tagged. */
    timeToFix: { fixes: number; medianMs: number | undefined; p95Ms: number | undefined };
  }[];
  freshness: FreshnessSummary;
  timeToFix: FreshnessSummary;
};

/** Urgencies in the order a person reads them (the catalog pages' order). */
const urgencies = ['high', 'medium', 'not yet assigned', 'low', 'unimportant', 'end-of-life'];

/** `3 (1 high, 2 low)`, `0`, or `not scanned`. */
function cveText(cves: StatusResult['images'][number]['cves']): string {
  if (!cves) return 'not scanned';
  const known = Object.keys(cves.byUrgency).filter((u) => !urgencies.includes(u));
  const parts = [...urgencies, ...known.sort()]
    .filter((u) => (cves.byUrgency[u] ?? 0) > 0)
    .map((u) => `${cves.byUrgency[u]} ${u}`);
  return parts.length > 0 ? `${cves.total} (${parts.join(', ')})` : String(cves.total);
}

/** `2 h / 5 h` (median / p95), or `—` without a fix yet. */
function medianP95(s: { medianMs: number | undefined; p95Ms: number | undefined }): string {
  if (s.medianMs === undefined) return '—';
  const text = (ms: number | undefined) => formatDuration(ms === undefined ? undefined : ms / 1000);
  return `${text(s.medianMs)} / ${text(s.p95Ms)}`;
}

/** The images' table: version, freshness, staleness, open CVEs, fixable ones and time to fix. */
function imagesTable(r: StatusResult, color: boolean): string[] {
  const out = ['', `IMAGES (${r.images.length})`];
  if (r.images.length === 0) return out;
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
        { header: 'CVES', value: (i) => cveText(i.cves) },
        {
          header: 'FIXABLE',
          value: (i) => (i.cves ? i.cves.fixable : '—'),
          align: 'right' as const,
          color: (i) => ((i.cves?.fixable ?? 0) > 0 ? 'yellow' : undefined),
        },
        { header: 'TIME TO FIX (MEDIAN / P95)', value: (i) => medianP95(i.timeToFix) },
      ],
      { color },
    ).trimEnd(),
  );
  const fixable = r.images.reduce((n, i) => n + (i.cves?.fixable ?? 0), 0);
  out.push(
    '',
    `freshness: median ${medianP95(r.freshness).replace(' / ', ', p95 ')} over ${r.freshness.count} images`,
    `time to fix: median ${medianP95(r.timeToFix).replace(' / ', ', p95 ')} over ${r.timeToFix.count} fixes; ${fixable} fixable CVEs open`,
  );
  return out;
}

/** What `kiln status --json` says of one image. */
function imageStatus(i: CatalogImage): StatusResult['images'][number] {
  const ttf = summariseFreshness(i.timeToFix.map((t) => t.ms));
  return {
    name: i.name,
    version: i.latest.version,
    epoch: i.latest.epoch,
    digest: i.latest.digest,
    publishedAt: i.latest.publishedAt,
    freshnessMs: i.freshnessMs,
    stale: i.staleness.stale,
    cves: i.latestCves
      ? {
          total: i.latestCves.total,
          fixable: i.latestCves.fixable,
          byUrgency: i.latestCves.byUrgency,
        }
      : null,
    timeToFix: { fixes: ttf.count, medianMs: ttf.medianMs, p95Ms: ttf.p95Ms },
  };
}

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
  out.push(...imagesTable(r, color));
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
        const { images, freshness, timeToFix } = await listImages(redis, config.queuePrefix, {
          staleAfterMs: config.staleAfterMs,
        });
        const result = {
          queues: jobs.queues,
          running: jobs.jobs.filter((j) => j.state === 'active'),
          failed: jobs.jobs.filter((j) => j.state === 'failed'),
          images: images.map(imageStatus),
          freshness,
          timeToFix,
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
