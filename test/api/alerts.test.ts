import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { parser as promql } from '@prometheus-io/lezer-promql';
import { Queue, UnrecoverableError, Worker } from 'bullmq';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { createApiServer } from '../../src/api/server.ts';
import { recordRateLimit, recordUpstreamCheck } from '../../src/catalog/signals.ts';
import { recordCveScan } from '../../src/catalog/cves.ts';
import { clearCatalog, recordPublished, recordUpstreamSeen } from '../../src/catalog/store.ts';
import { loadConfig, type Config } from '../../src/config.ts';
import { createLogger } from '../../src/log.ts';
import type { RedisClient } from '../../src/queue/connection.ts';
import { sampleRecord } from '../catalog/fixtures.ts';
import { testRedis, testRegistryHost, uniqueName } from '../helpers/stack.ts';
import { parsePrometheusText, sampleValue, type Family } from './prom-text.ts';

const run = promisify(execFile);
const rulesFile = path.resolve('deploy/prometheus/kiln-alerts.yml');
const dashboardFile = path.resolve('deploy/grafana/kiln.json');

/*
 * The shipped alert rules and Grafana dashboard use only metrics kiln really exports: each
 * PromQL expression is parsed with Prometheus's own grammar (@prometheus-io/lezer-promql, what
 * its UI uses), and every metric and label matcher it names is looked up in the /metrics of a
 * running API whose catalog, signals and queues hold data, so every family has samples.
 */

const rulesSchema = z.strictObject({
  groups: z
    .array(
      z.strictObject({
        name: z.string().min(1),
        rules: z
          .array(
            z.strictObject({
              alert: z.string().regex(/^Kiln[A-Za-z]+$/),
              expr: z.string().min(1),
              for: z.string().regex(/^(\d+[smhd])+$/),
              labels: z.strictObject({ severity: z.enum(['warning', 'critical']) }),
              annotations: z.strictObject({ summary: z.string(), description: z.string() }),
            }),
          )
          .min(1),
      }),
    )
    .min(1),
});

interface Target {
  expr: string;
  refId: string;
}
interface Panel {
  id: number;
  title: string;
  type: string;
  datasource?: { type: string; uid: string };
  targets?: Target[];
  panels?: Panel[];
}

const log = createLogger({ level: 'silent' });
let redis: RedisClient;
let config: Config;
let queues: Queue[];
let app: FastifyInstance;
let families: Map<string, Family>;

beforeAll(async () => {
  redis = testRedis();
  const prefix = uniqueName('alerts');
  config = loadConfig({
    KILN_QUEUE_PREFIX: prefix,
    KILN_REGISTRY: `${testRegistryHost()}/kiln`,
    KILN_API_TOKEN: 'alerts-test-token-0123456789',
    KILN_STALE_AFTER: '6h',
  });
  queues = ['build', 'publish'].map((name) => new Queue(name, { connection: redis, prefix }));
  app = await createApiServer({ config, redis, queues, log });

  const ago = (h: number) => new Date(Date.now() - h * 3_600_000).toISOString();
  await recordPublished(
    redis,
    prefix,
    sampleRecord({
      recipe: 'app',
      version: '1.0.0',
      upstream: { releasedAt: ago(30) },
      builtAt: ago(29),
      publishedAt: ago(28),
    }),
  );
  await recordUpstreamSeen(redis, prefix, 'app', '1.1.0', ago(12));
  // A CVE scan of the latest release (one fixable CVE), so the CVE families have samples.
  const app100 = sampleRecord({ recipe: 'app', version: '1.0.0' });
  await recordCveScan(
    redis,
    prefix,
    'app',
    [
      {
        summary: {
          recipe: 'app',
          stream: 'default',
          version: '1.0.0',
          epoch: 0,
          digest: app100.digest,
          release: 'trixie',
          scannedAt: ago(1),
          feed: 'test feed',
          total: 1,
          fixable: 1,
          byUrgency: { high: 1 },
          fixableCves: [
            {
              cve: 'CVE-2026-1000',
              source: 'openssl',
              installed: '3.5.4-1~deb13u1',
              fixedVersion: '3.5.4-1~deb13u2',
              suite: 'trixie-security',
              urgency: 'high',
            },
          ],
        },
        publishedAt: ago(28),
      },
    ],
    new Date(),
  );
  await recordUpstreamCheck(redis, prefix, 'github', 'ok');
  await recordUpstreamCheck(redis, prefix, 'github', 'error');
  await recordRateLimit(redis, prefix, 'github', { remaining: 42, limit: 5000 });

  // One finished and one failed publish job, so the job histogram has both outcomes.
  await queues[0]!.add('build app 1.1.0 amd64', { arch: 'amd64' }, { jobId: 'waiting' });
  const worker = new Worker(
    'publish',
    async (job) => {
      if (job.data.fail) throw new UnrecoverableError('checksum mismatch');
      return 'ok';
    },
    { connection: testRedis(), prefix },
  );
  let finished = 0;
  const done = new Promise<void>((resolve) => {
    const step = () => ++finished === 2 && resolve();
    worker.on('completed', step);
    worker.on('failed', step);
  });
  await queues[1]!.add('publish ok', {}, { jobId: 'ok' });
  await queues[1]!.add('publish bad', { fail: true }, { jobId: 'bad', attempts: 1 });
  await done;
  await worker.close();
  // The histogram is fed by queue events: scrape until both outcomes arrived.
  for (let i = 0; i < 200; i++) {
    families = parsePrometheusText((await app.inject('/metrics')).body);
    const failed = sampleValue(families, 'kiln_job_duration_seconds_count', {
      outcome: 'failed',
    });
    if (failed !== undefined) break;
    await new Promise((r) => setTimeout(r, 50));
  }
});

afterAll(async () => {
  await app.close();
  await Promise.all(
    queues.map(async (q) => {
      await q.obliterate({ force: true });
      await q.close();
    }),
  );
  await clearCatalog(redis, config.queuePrefix);
  await redis.quit();
});

interface Selector {
  metric: string;
  matchers: string[];
}

/** Parses one PromQL expression; throws naming the first syntax error, returns its selectors. */
function selectorsOf(expr: string, where: string): Selector[] {
  const tree = promql.parse(expr);
  const selectors: Selector[] = [];
  const text = (from: number, to: number) => expr.slice(from, to);
  tree.iterate({
    enter(node) {
      if (node.type.isError)
        throw new Error(
          `${where}: PromQL syntax error at ${node.from}: …${text(Math.max(0, node.from - 20), node.from + 20)}…`,
        );
      if (node.name !== 'VectorSelector') return;
      const id = node.node.getChild('Identifier');
      const matchers = node.node
        .getChild('LabelMatchers')
        ?.getChildren('UnquotedLabelMatcher')
        .map((m) => {
          const name = m.getChild('LabelName');
          return name ? text(name.from, name.to) : '';
        });
      if (!id) throw new Error(`${where}: a selector without a metric name: ${expr}`);
      selectors.push({ metric: text(id.from, id.to), matchers: matchers ?? [] });
    },
  });
  return selectors;
}

/** The family a sample name belongs to (`x_bucket`, `x_count`, `x_sum` of a histogram). */
function familyOf(metric: string): Family | undefined {
  const direct = families.get(metric);
  if (direct) return direct;
  const base = families.get(metric.replace(/_(bucket|count|sum)$/, ''));
  return base && (base.type === 'histogram' || base.type === 'summary') ? base : undefined;
}

/** Every selector names a metric kiln exports, and each label it matches on is one of its labels. */
function unknownNames(selectors: Selector[]): string[] {
  const problems: string[] = [];
  for (const { metric, matchers } of selectors) {
    const family = familyOf(metric);
    if (!family) {
      problems.push(`${metric} is not in kiln's /metrics`);
      continue;
    }
    const labels = new Set(
      family.samples.filter((s) => s.name === metric).flatMap((s) => Object.keys(s.labels)),
    );
    for (const m of matchers)
      if (!labels.has(m)) problems.push(`${metric} has no label ${m} (it has ${[...labels]})`);
  }
  return problems;
}

/** Grafana's interval variables, as the dashboard would send them. */
function grafanaToPromql(expr: string): string {
  return expr.replaceAll('$__rate_interval', '5m').replaceAll('$__interval', '1m');
}

describe('kiln exports what the rules and the dashboard query', () => {
  it('every family the rules and the dashboard use has samples in this /metrics', () => {
    for (const name of [
      'kiln_images',
      'kiln_image_stale',
      'kiln_image_pending_release_seconds',
      'kiln_jobs',
      'kiln_queue_depth',
      'kiln_job_duration_seconds',
      'kiln_upstream_checks_total',
      'kiln_upstream_rate_limit_remaining',
    ])
      expect(families.get(name)?.samples.length ?? 0, name).toBeGreaterThan(0);
  });
});

describe('deploy/prometheus/kiln-alerts.yml', () => {
  it('is a well-formed rule file: each rule parses as PromQL and uses only kiln’s metrics', async () => {
    const rules = rulesSchema.parse(parseYaml(await readFile(rulesFile, 'utf8')));
    const all = rules.groups.flatMap((g) => g.rules);
    expect(new Set(all.map((r) => r.alert)).size).toBe(all.length);
    expect(all.map((r) => r.alert)).toEqual(
      expect.arrayContaining([
        'KilnImageStale',
        'KilnJobsFailing',
        'KilnRateLimitLow',
        'KilnWatcherNotChecking',
      ]),
    );
    const problems: string[] = [];
    for (const rule of all) {
      const selectors = selectorsOf(rule.expr, rule.alert);
      expect(selectors.length, rule.alert).toBeGreaterThan(0);
      problems.push(...unknownNames(selectors).map((p) => `${rule.alert}: ${p}`));
    }
    expect(problems).toEqual([]);
  });

  it('promtool check rules accepts it (when promtool is on PATH)', async (context) => {
    const promtool = await run('promtool', ['--version']).then(
      () => true,
      () => false,
    );
    if (!promtool) {
      context.skip('promtool is not on PATH (Debian package prometheus); the parser test ran');
      return;
    }
    const { stdout } = await run('promtool', ['check', 'rules', rulesFile]);
    expect(stdout).toMatch(/SUCCESS: \d+ rules found/);
  });
});

describe('deploy/grafana/kiln.json', () => {
  it('queries only kiln’s metrics, each query valid PromQL, through the datasource variable', async () => {
    const dashboard = JSON.parse(await readFile(dashboardFile, 'utf8')) as {
      uid: string;
      panels: Panel[];
      templating: { list: { name: string; type: string }[] };
    };
    expect(dashboard.uid).toBe('kiln-overview');
    expect(dashboard.templating.list).toContainEqual(
      expect.objectContaining({ name: 'datasource', type: 'datasource' }),
    );
    const panels = dashboard.panels.flatMap((p) => [p, ...(p.panels ?? [])]);
    expect(new Set(panels.map((p) => p.id)).size).toBe(panels.length);
    const problems: string[] = [];
    let queries = 0;
    for (const panel of panels.filter((p) => p.type !== 'row')) {
      expect(panel.datasource, panel.title).toEqual({ type: 'prometheus', uid: '${datasource}' });
      expect(panel.targets?.length ?? 0, panel.title).toBeGreaterThan(0);
      for (const target of panel.targets ?? []) {
        queries++;
        const where = `${panel.title} (${target.refId})`;
        const selectors = selectorsOf(grafanaToPromql(target.expr), where);
        expect(selectors.length, where).toBeGreaterThan(0);
        problems.push(...unknownNames(selectors).map((p) => `${where}: ${p}`));
      }
    }
    expect(queries).toBeGreaterThan(10);
    expect(problems).toEqual([]);
  });
});
