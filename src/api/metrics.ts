import type { Queue } from 'bullmq';
import { findJob, openQueueEvents } from '../queue/queues.ts';
import type { RedisClient } from '../queue/connection.ts';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { readSignals } from '../catalog/signals.ts';
import type { Logger } from '../log.ts';
import type { CatalogReader } from './catalog-reader.ts';
import { lastReconcile } from '../watch/reconcile-signal.ts';
import { jobStates } from './jobs.ts';

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

/**
 * kiln's Prometheus metrics. Gauges are read from Redis at scrape time (the catalog, the
 * watcher's signals, BullMQ's counts), so any `kiln serve` reports the whole fleet. Job durations
 * are a histogram fed by BullMQ's queue events, so they count jobs finished since this process
 * started, whichever worker ran them.
 */
export function createMetrics(options: MetricsOptions): Metrics {
  const { redis, prefix, queues, log } = options;
  const registry = new Registry();
  const jobs = new Gauge({
    name: 'kiln_jobs',
    help: 'Jobs by queue and state.',
    labelNames: ['queue', 'state'],
    registers: [registry],
  });
  const depth = new Gauge({
    name: 'kiln_queue_depth',
    help: 'Jobs waiting to run (waiting, prioritized, delayed) per queue.',
    labelNames: ['queue'],
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'kiln_job_duration_seconds',
    help: 'Run time of finished jobs (processed to finished), by queue (build, publish) and outcome.',
    labelNames: ['queue', 'outcome'],
    buckets: [1, 5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600],
    registers: [registry],
  });
  const freshness = new Gauge({
    name: 'kiln_image_freshness_seconds',
    help: "Time from the upstream release to the signed image being tagged, for each image's latest release.",
    labelNames: ['image'],
    registers: [registry],
  });
  const fleetFreshness = new Gauge({
    name: 'kiln_freshness_seconds',
    help: 'Freshness across images: median (quantile 0.5) and 95th percentile.',
    labelNames: ['quantile'],
    registers: [registry],
  });
  const stale = new Gauge({
    name: 'kiln_image_stale',
    help: '1 when upstream has had a newer release than the published one for longer than KILN_STALE_AFTER.',
    labelNames: ['image'],
    registers: [registry],
  });
  const waiting = new Gauge({
    name: 'kiln_image_pending_release_seconds',
    help: 'How long the oldest unpublished newer upstream release has waited (0 when none).',
    labelNames: ['image'],
    registers: [registry],
  });
  const buildTime = new Gauge({
    name: 'kiln_image_build_duration_seconds',
    help: "Build time of each image's latest release.",
    labelNames: ['image'],
    registers: [registry],
  });
  const images = new Gauge({
    name: 'kiln_images',
    help: 'Images in the catalog.',
    registers: [registry],
  });
  const checks = new Counter({
    name: 'kiln_upstream_checks_total',
    help: 'Upstream checks by source and outcome (recorded by the watcher in Redis).',
    labelNames: ['source', 'outcome'],
    registers: [registry],
  });
  const reconciled = new Gauge({
    name: 'kiln_reconcile_last_run_timestamp_seconds',
    help: 'Unix time the last reconcile cycle (every recipe planned against the registry) ended; 0 when none has since Redis began.',
    registers: [registry],
  });
  const rateLimit = new Gauge({
    name: 'kiln_upstream_rate_limit_remaining',
    help: 'Rate-limit points left per upstream source, as last reported by the source.',
    labelNames: ['source'],
    registers: [registry],
  });

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

  async function refresh(): Promise<void> {
    const [catalog, signals, counts, reconcile] = await Promise.all([
      options.catalog.listImages({ staleAfterMs: options.staleAfterMs }),
      readSignals(redis, prefix),
      Promise.all(
        queues.map(async (q) => ({ name: q.name, counts: await q.getJobCounts(...jobStates) })),
      ),
      lastReconcile(redis, prefix),
    ]);
    for (const g of [jobs, depth, freshness, fleetFreshness, stale, waiting, buildTime, rateLimit])
      g.reset();
    for (const { name, counts: c } of counts) {
      for (const [state, n] of Object.entries(c)) jobs.set({ queue: name, state }, n);
      depth.set({ queue: name }, (c.waiting ?? 0) + (c.prioritized ?? 0) + (c.delayed ?? 0));
    }
    images.set(catalog.images.length);
    for (const image of catalog.images) {
      if (image.freshnessMs !== undefined)
        freshness.set({ image: image.name }, s(image.freshnessMs));
      stale.set({ image: image.name }, image.staleness.stale ? 1 : 0);
      waiting.set({ image: image.name }, s(image.staleness.waitingMs ?? 0));
      buildTime.set({ image: image.name }, s(image.latest.buildDurationMs));
    }
    if (catalog.freshness.medianMs !== undefined)
      fleetFreshness.set({ quantile: '0.5' }, s(catalog.freshness.medianMs));
    if (catalog.freshness.p95Ms !== undefined)
      fleetFreshness.set({ quantile: '0.95' }, s(catalog.freshness.p95Ms));
    // The counts live in Redis and only grow; mirror them rather than adding.
    checks.reset();
    for (const c of signals.checks) checks.inc({ source: c.source, outcome: c.outcome }, c.count);
    for (const r of signals.rateLimits) rateLimit.set({ source: r.source }, r.remaining);
    reconciled.set(reconcile ? s(reconcile.finishedAt) : 0);
  }

  // Scrapes run one at a time: a refresh resets gauges, which must not happen mid-render.
  let last: Promise<unknown> = Promise.resolve();
  return {
    registry,
    async ready() {
      await Promise.all(events.map(({ qe }) => qe.waitUntilReady()));
    },
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
