import { createReadStream } from 'node:fs';
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { readTrackerFeed } from '../../src/vuln/tracker-feed.ts';

/*
 * One measurement in its own process, so peak RSS is this parse's alone: `stream` reads the feed
 * with kiln's reader keeping the given source packages, `json-parse` is `JSON.parse` of the same
 * file (the baseline), `idle` loads the same modules and parses nothing (the floor).
 * Prints one JSON line: wall ms, CPU ms, peak RSS, heap in use with the result still alive.
 */

const [mode = 'idle', file = '', wanted = ''] = process.argv.slice(2);

/**
 * Peak RSS of this process: Linux's VmHWM. Not getrusage's maxRSS, which Linux keeps across
 * execve, so a child of a large parent reports the parent's size.
 */
function peakRss(): number {
  const hwm = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1];
  return hwm ? Number(hwm) * 1024 : process.resourceUsage().maxRSS * 1024;
}
let peakHeap = 0;
const sample = setInterval(() => {
  peakHeap = Math.max(peakHeap, process.memoryUsage().heapUsed);
}, 10);
const cpu = process.cpuUsage();
const start = performance.now();
let kept = 0;
let result: unknown;
if (mode === 'stream') {
  const feed = await readTrackerFeed(createReadStream(file), {
    wanted: new Set(wanted.split(',').filter(Boolean)),
  });
  kept = [...feed.sources.values()].reduce((n, cves) => n + cves.size, 0);
  result = feed;
} else if (mode === 'json-parse') {
  const parsed: unknown = JSON.parse(await readFile(file, 'utf8'));
  kept = typeof parsed === 'object' && parsed !== null ? Object.keys(parsed).length : 0;
  result = parsed;
}
const ms = performance.now() - start;
const used = process.cpuUsage(cpu);
clearInterval(sample);
const heapNow = process.memoryUsage().heapUsed;
peakHeap = Math.max(peakHeap, heapNow);
process.stdout.write(
  `${JSON.stringify({
    mode,
    ms,
    cpuMs: (used.user + used.system) / 1000,
    peakRssBytes: peakRss(),
    heapWithResultBytes: heapNow,
    peakHeapSampledBytes: peakHeap,
    kept,
    alive: result !== undefined,
  })}\n`,
);
