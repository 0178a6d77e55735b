import type { Queue } from 'bullmq';
import { findJob, openQueueEvents } from '../queue/queues.ts';
import type { RedisClient } from '../queue/connection.ts';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { readSignals } from '../catalog/signals.ts';
import type { Logger } from '../log.ts';
import type { CatalogReader } from './catalog-reader.ts';
import { lastReconcile } from '../watch/reconcile-signal.ts';
import { jobStates } from './jobs.ts';
import { vulnMetrics } from './vuln-metrics.ts';

export interface MetricsOptions {
  redis: RedisClient;
  /** config.queuePrefix: where the watcher's signals live. */
  prefix: string;
  /** Where images are read from (the server's reader, so scrapes share its cache). */
  catalog: CatalogReader;
  queues: readonly Queue[];
  staleAfterMs: number;
  log: Logger;
}

export interface Metrics {
  registry: Registry;
  /** Resolves when the queue-event listeners are connected. */
  ready(): Promise<void>;
  /** Reads Redis and the queues, then renders the Prometheus text format. */
  render(): Promise<string>;
  close(): Promise<void>;
}

const s = (ms: number) => ms / 1000;

function gauge(registry: Registry, name: string, help: string, labelNames: string[] = []): Gauge {
  return new Gauge({ name, help, labelNames, registers: [registry] });
}

/**
 * kiln's Prometheus metrics. Gauges are read from Redis at scrape time (the catalog, the
 * watcher's signals, BullMQ's counts), so any `kiln serve` reports the whole fleet. Job durations
 * are a histogram fed by BullMQ's queue events, so they count jobs finished since this process
 * started, whichever worker ran them.
 */
export function createMetrics(options: MetricsOptions): Metrics {
  const registry = new Registry();
  // Families register in this order, which is the order of the exposition.
  const jobs = jobMetrics(registry);
  const images = imageMetrics(registry);
  const upstreams = upstreamMetrics(registry);
  const vulns = vulnMetrics(registry);
  const durations = observeJobDurations(options, jobs.duration);

  async function refresh(): Promise<void> {
    const scrape = await readScrape(options);
    jobs.update(scrape.counts);
    images.update(scrape.catalog);
    upstreams.update(scrape.signals, scrape.reconcile);
    vulns.update(scrape.catalog);
  }

  // Scrapes run one at a time: a refresh resets gauges, which must not happen mid-render.
  let last: Promise<unknown> = Promise.resolve();
  return {
    registry,
    ready: () => durations.ready(),
    render() {
      const next = last
        .catch(() => undefined)
        .then(async () => {
          await refresh();
          return registry.metrics();
        });
      last = next;
      return next;
    },
    close: () => durations.close(),
  };
}

interface Scrape {
  catalog: Awaited<ReturnType<CatalogReader['listImages']>>;
  signals: Awaited<ReturnType<typeof readSignals>>;
  counts: { name: string; counts: Record<string, number> }[];
  reconcile: Awaited<ReturnType<typeof lastReconcile>>;
}

/** Everything one scrape reports, read at once: the catalog, the watcher's signals, BullMQ's counts. */
async function readScrape(options: MetricsOptions): Promise<Scrape> {
  const { redis, prefix, queues } = options;
  const [catalog, signals, counts, reconcile] = await Promise.all([
    options.catalog.listImages({ staleAfterMs: options.staleAfterMs }),
    readSignals(redis, prefix),
    Promise.all(
      queues.map(async (q) => ({ name: q.name, counts: await q.getJobCounts(...jobStates) })),
    ),
    lastReconcile(redis, prefix),
  ]);
  return { catalog, signals, counts, reconcile };
}

/** Jobs per queue and state, the queue depth, and the job-duration histogram (fed by events). */
function jobMetrics(registry: Registry) {
  const jobs = gauge(registry, 'kiln_jobs', 'Jobs by queue and state.', ['queue', 'state']);
  const depth = gauge(
    registry,
    'kiln_queue_depth',
    'Jobs waiting to run (waiting, prioritized, delayed) per queue.',
    ['queue'],
  );
  const duration = new Histogram({
    name: 'kiln_job_duration_seconds',
    help: 'Run time of finished jobs (processed to finished), by queue (build, publish) and outcome.',
    labelNames: ['queue', 'outcome'],
    buckets: [1, 5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600],
    registers: [registry],
  });
  return {
    duration,
    update(counts: Scrape['counts']) {
      jobs.reset();
      depth.reset();
      for (const { name, counts: c } of counts) {
        for (const [state, n] of Object.entries(c)) jobs.set({ queue: name, state }, n);
        depth.set({ queue: name }, (c.waiting ?? 0) + (c.prioritized ?? 0) + (c.delayed ?? 0));
      }
    },
  };
}

/** Each image's freshness, staleness, pending release and build time; the fleet's freshness. */
function imageMetrics(registry: Registry) {
  const freshness = gauge(
    registry,
    'kiln_image_freshness_seconds',
    "Time from the upstream release to the signed image being tagged, for each image's latest release.",
    ['image'],
  );
  const fleetFreshness = gauge(
    registry,
    'kiln_freshness_seconds',
    'Freshness across images: median (quantile 0.5) and 95th percentile.',
    ['quantile'],
  );
  const stale = gauge(
    registry,
    'kiln_image_stale',
    '1 when upstream has had a newer release than the published one for longer than KILN_STALE_AFTER.',
    ['image'],
  );
  const waiting = gauge(
    registry,
    'kiln_image_pending_release_seconds',
    'How long the oldest unpublished newer upstream release has waited (0 when none).',
    ['image'],
  );
  const buildTime = gauge(
    registry,
    'kiln_image_build_duration_seconds',
    "Build time of each image's latest release.",
    ['image'],
  );
  const images = gauge(registry, 'kiln_images', 'Images in the catalog.');
  return {
    update(catalog: Scrape['catalog']) {
      for (const g of [freshness, fleetFreshness, stale, waiting, buildTime]) g.reset();
      images.set(catalog.images.length);
      for (const image of catalog.images) {
        if (image.freshnessMs !== undefined)
          freshness.set({ image: image.name }, s(image.freshnessMs));
        stale.set({ image: image.name }, image.staleness.stale ? 1 : 0);
        waiting.set({ image: image.name }, s(image.staleness.waitingMs ?? 0));
        buildTime.set({ image: image.name }, s(image.latest.buildDurationMs));
      }
      const { medianMs, p95Ms } = catalog.freshness;
      if (medianMs !== undefined) fleetFreshness.set({ quantile: '0.5' }, s(medianMs));
      if (p95Ms !== undefined) fleetFreshness.set({ quantile: '0.95' }, s(p95Ms));
    },
  };
}

/** The watcher's upstream checks and rate limits, and when the last reconcile ended. */
function upstreamMetrics(registry: Registry) {
  const checks = new Counter({
    name: 'kiln_upstream_checks_total',
    help: 'Upstream checks by source and outcome (recorded by the watcher in Redis).',
    labelNames: ['source', 'outcome'],
    registers: [registry],
  });
  const reconciled = gauge(
    registry,
    'kiln_reconcile_last_run_timestamp_seconds',
    'Unix time the last reconcile cycle (every recipe planned against the registry) ended; 0 when none has since Redis began.',
  );
  const rateLimit = gauge(
    registry,
    'kiln_upstream_rate_limit_remaining',
    'Rate-limit points left per upstream source, as last reported by the source.',
    ['source'],
  );
  return {
    update(signals: Scrape['signals'], reconcile: Scrape['reconcile']) {
      // The counts live in Redis and only grow; mirror them rather than adding.
      checks.reset();
      rateLimit.reset();
      for (const c of signals.checks) checks.inc({ source: c.source, outcome: c.outcome }, c.count);
      for (const r of signals.rateLimits) rateLimit.set({ source: r.source }, r.remaining);
      reconciled.set(reconcile ? s(reconcile.finishedAt) : 0);
    },
  };
}

/** One queue-events listener per queue, observing each finished job's run time into `duration`. */
function observeJobDurations(
  options: Pick<MetricsOptions, 'redis' | 'queues' | 'log'>,
  duration: Histogram,
): { ready(): Promise<void>; close(): Promise<void> } {
  const { redis, queues, log } = options;
  const events = queues.map((queue) => {
    const connection = redis.duplicate();
    // Start from "now" by stream id, so events between creation and the first read are not lost.
    const qe = openQueueEvents(
      queue.name,
      { connection, prefix: queue.opts.prefix ?? '' },
      { autorun: true, lastEventId: `${Date.now()}-0` },
    );
    const observe =
      (outcome: string) =>
      async ({ jobId }: { jobId: string }) => {
        try {
          const job = await findJob(queue, jobId);
          if (job?.processedOn && job.finishedOn)
            duration.observe({ queue: queue.name, outcome }, s(job.finishedOn - job.processedOn));
        } catch (error) {
          log.warn(
            { err: error, queue: queue.name, jobId },
            'could not read a finished job for its duration',
          );
        }
      };
    qe.on('completed', observe('completed'));
    qe.on('failed', observe('failed'));
    qe.on('error', (error) =>
      log.warn({ err: error, queue: queue.name }, 'queue events connection error'),
    );
    return { qe, connection };
  });
  return {
    async ready() {
      await Promise.all(events.map(({ qe }) => qe.waitUntilReady()));
    },
    async close() {
      await Promise.all(
        events.map(async ({ qe, connection }) => {
          await qe.close();
          connection.disconnect();
        }),
      );
    },
  };
}
