/*
 * Requests per second and p99 latency of /api/images with 1,000 published images, beside a
 * static file (the catalog's stylesheet) served by the same server in the same run. The load
 * comes from a second process (autocannon) over loopback, bounded in requests and in time.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { z } from 'zod';
import { createApiServer } from '../../src/api/server.ts';
import { listImages, recordPublished } from '../../src/catalog/store.ts';
import { summaryView } from '../../src/api/image-view.ts';
import { loadConfig } from '../../src/config.ts';
import { createLogger } from '../../src/log.ts';
import { createRedis } from '../../src/queue/connection.ts';
import { sampleRecord } from '../../test/catalog/fixtures.ts';
import { benchStack } from '../lib/stack.ts';
import { fixed, printTable } from '../lib/table.ts';

const IMAGES = Number(process.env.BENCH_IMAGES ?? 1000);
const MAX_REQUESTS = Number(process.env.BENCH_REQUESTS ?? 20_000);
const MAX_MS = Number(process.env.BENCH_SECONDS ?? 8) * 1000;
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 10);

const loadResult = z.object({
  requests: z.number(),
  rps: z.number(),
  p50: z.number(),
  p99: z.number(),
  errors: z.number(),
  non2xx: z.number(),
  bytesPerRequest: z.number(),
  seconds: z.number(),
});

async function load(url: string): Promise<z.infer<typeof loadResult>> {
  const script = fileURLToPath(new URL('./load.ts', import.meta.url));
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ['--import', 'tsx', script, url, String(MAX_REQUESTS), String(MAX_MS), String(CONNECTIONS)],
    { timeout: MAX_MS + 30_000, maxBuffer: 1 << 20 },
  );
  return loadResult.parse(JSON.parse(stdout));
}

const stack = await benchStack();
const redis = createRedis(stack.redis.url);
try {
  const prefix = 'bench-api';
  const config = loadConfig({ KILN_QUEUE_PREFIX: prefix, KILN_REGISTRY: '127.0.0.1:5000/kiln' });
  const t0 = Date.parse('2026-01-01T00:00:00Z');
  for (let i = 0; i < IMAGES; i++) {
    const released = t0 + i * 60_000;
    await recordPublished(
      redis,
      prefix,
      sampleRecord({
        recipe: `image-${String(i).padStart(4, '0')}`,
        upstream: { releasedAt: new Date(released).toISOString() },
        publishedAt: new Date(released + (30 + (i % 240)) * 60_000).toISOString(),
      }),
    );
  }
  const app = await createApiServer({ config, redis, log: createLogger({ level: 'silent' }) });
  const base = await app.listen({ host: '127.0.0.1', port: 0 });
  const check = (await (await fetch(`${base}/api/images`)).json()) as { images: unknown[] };
  if (check.images.length !== IMAGES)
    throw new Error(`expected ${IMAGES} images, the API listed ${check.images.length}`);

  const rows: (string | number)[][] = [];
  for (const [name, path] of [
    ['static file /assets/catalog.css (baseline)', '/assets/catalog.css'],
    [`/api/images (${IMAGES} images)`, '/api/images'],
    [`catalog page / (${IMAGES} images)`, '/'],
  ] as const) {
    await (await fetch(`${base}${path}`)).arrayBuffer(); // warm: the first render is not the steady state
    const r = await load(`${base}${path}`);
    if (r.errors || r.non2xx)
      throw new Error(`${path}: ${r.errors} errors, ${r.non2xx} non-2xx answers`);
    rows.push([
      name,
      r.requests,
      fixed(r.rps, 0),
      fixed(r.p50, 1),
      fixed(r.p99, 1),
      fixed(r.bytesPerRequest / 1024, 1),
    ]);
  }
  // The uncached work behind one /api/images answer, in-process: what a catalog write costs the next reader.
  const renders: number[] = [];
  for (let i = 0; i < 20; i++) {
    const t = performance.now();
    const { images } = await listImages(redis, prefix, { staleAfterMs: config.staleAfterMs });
    JSON.stringify(images.map((image) => summaryView(config, image)));
    renders.push(performance.now() - t);
  }
  renders.sort((a, b) => a - b);
  rows.push([
    `uncached render of /api/images, in-process (${IMAGES} images)`,
    renders.length,
    '',
    fixed(renders[10]!, 1),
    fixed(renders.at(-1)!, 1),
    '',
  ]);
  await app.close();
  // Requests the load generator abandoned at its deadline may still be finishing.
  await new Promise((r) => setTimeout(r, 500));
  printTable(
    `kiln API under load (${CONNECTIONS} connections, one loopback client process, at most ${MAX_REQUESTS} requests or ${MAX_MS / 1000} s each)`,
    ['endpoint', 'requests', 'req/s', 'p50 ms', 'p99 ms (max for in-process)', 'KiB/response'],
    rows,
  );
  process.stdout.write(
    'Note: autocannon decodes every response body into a JS string; the page holds non-ASCII text (…, —),\n' +
      'which decodes far slower than the all-ASCII JSON, so the page row is bounded by the client process.\n',
  );
} finally {
  await redis.quit();
  await stack.stop();
}
