import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';

/*
 * bench:watch — a full watch cycle of 1,000 and 5,000 GitHub recipes against the local GitHub
 * server: kiln's batched GraphQL (the watcher, and `kiln plan`) beside one-repository-per-request
 * REST (with ETags), measured in the same run. Server and each measured watcher run in their own processes.
 */

interface Row {
  approach: string;
  recipes: number;
  scenario: string;
  points: number;
  requests: number;
  notModified: number;
  wallMs: number;
  notified: number;
  failed: number;
  peakRssMb: number;
  startRssMb: number;
  peakHeapMb: number;
}

const tsx = ['--import', 'tsx'];
const server = spawn(process.execPath, [...tsx, new URL('./server.ts', import.meta.url).pathname], {
  stdio: ['ignore', 'pipe', 'inherit'],
});
const [first] = (await once(createInterface({ input: server.stdout }), 'line')) as [string];
const { apiUrl } = JSON.parse(first) as { apiUrl: string };
const sizes = (process.env.BENCH_SIZES ?? '1000,5000').split(',').map(Number);
const started = Date.now();
/** The whole bench stops here: a watcher still running is stopped and its missing cycles say so. */
const deadline = started + Number(process.env.BENCH_BUDGET_S ?? 115) * 1000;
let cut = false;

await fetch(`${apiUrl}/_kiln/seed`, {
  method: 'POST',
  body: JSON.stringify({ count: Math.max(...sizes), releases: 5 }),
});

async function measure(approach: string, recipes: number): Promise<Row[]> {
  const child = spawn(process.execPath, [...tsx, new URL('./run.ts', import.meta.url).pathname], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: {
      ...process.env,
      BENCH_API_URL: apiUrl,
      BENCH_RECIPES: String(recipes),
      BENCH_APPROACH: approach,
    },
  });
  const timer = setTimeout(
    () => {
      cut = true;
      child.kill('SIGKILL');
    },
    Math.max(0, deadline - Date.now()),
  );
  const rows: Row[] = [];
  for await (const line of createInterface({ input: child.stdout }))
    rows.push(JSON.parse(line) as Row);
  clearTimeout(timer);
  return rows;
}

const rows: Row[] = [];
try {
  // Interleaved, so a budget cut on a loaded machine loses the largest baseline, not a whole size.
  for (const n of sizes) {
    rows.push(...(await measure('graphql', n)));
    rows.push(...(await measure('plan', n)));
    rows.push(...(await measure('rest', n)));
  }
} finally {
  server.kill('SIGTERM');
}

const labels: Record<string, string> = {
  graphql: 'kiln watcher: GraphQL batches',
  plan: 'kiln plan (one-shot run per cycle)',
  rest: 'baseline: REST per repo (ETag)',
};
const label = (a: string) => labels[a] ?? a;
console.log('\n## bench:watch — one full cycle of N GitHub recipes (local server)\n');
console.log(
  '| recipes | approach | cycle | rate-limit points | points / 100 recipes | HTTP requests | 304s | wall time | watcher peak RSS (at start) | peak JS heap | failed |',
);
console.log('| ---: | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
for (const r of rows) {
  console.log(
    `| ${r.recipes} | ${label(r.approach)} | ${r.scenario} | ${r.points} | ${((r.points * 100) / r.recipes).toFixed(2)} | ${r.requests} | ${r.notModified} | ${(r.wallMs / 1000).toFixed(2)} s | ${r.peakRssMb} MB (${r.startRssMb}) | ${r.peakHeapMb} MB | ${r.failed} |`,
  );
}
if (cut)
  console.log(
    `\nStopped at the ${Math.round((deadline - started) / 1000)} s budget (BENCH_BUDGET_S): cycles not listed were not measured.`,
  );
console.log(
  `\nGoals: ≤ 1 point / 100 recipes unchanged, ≤ 2 with 5% changed, kiln plan the same as the watcher; 5,000-recipe cycle < 10 s; RSS < 200 MB. Bench took ${Math.round((Date.now() - started) / 1000)} s.`,
);
