/*
 * Start-up of the CLI: `kiln --help` and `kiln lint recipes`, from the compiled dist/ (through
 * bin/kiln.js, as a user runs it) and from the sources through tsx, beside `node -e 0` as the floor.
 * Each row is the median of N runs (wall, CPU = user + sys, peak RSS from /usr/bin/time).
 * `--instructions` adds one run of each under valgrind's callgrind (every thread counted): the
 * instructions executed, which a loaded machine does not change. Notes: bench/cli/README.md.
 *
 *   npm run bench:cli [-- --runs 15] [-- --instructions]
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fixed, printTable } from '../lib/table.ts';
// Plain JavaScript shared with bin/kiln.js: the same check decides which path a run took.
import { currentBuild, root } from '../../bin/dist-state.js';

const runsArg = process.argv.indexOf('--runs');
const runs = runsArg > 0 ? Number(process.argv[runsArg + 1]) : 11;
if (!Number.isInteger(runs) || runs < 1) throw new Error(`--runs: expected a positive integer`);
const time = '/usr/bin/time';
const countInstructions = process.argv.includes('--instructions');

interface Sample {
  wallMs: number;
  cpuMs: number;
  rssMb: number;
}

const dir = await mkdtemp(path.join(os.tmpdir(), 'kiln-bench-cli-'));
const timing = path.join(dir, 'time.txt');

/** One run of `argv` under /usr/bin/time; throws with its stderr if it exits non-zero. */
async function once(argv: string[]): Promise<Sample> {
  const started = process.hrtime.bigint();
  const run = spawnSync(time, ['-o', timing, '-f', '%U %S %M', ...argv], {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env, KILN_LOG_LEVEL: 'warn' },
  });
  const wallMs = Number(process.hrtime.bigint() - started) / 1e6;
  if (run.error) throw new Error(`running ${time} (is GNU time installed?)`, { cause: run.error });
  if (run.status !== 0) throw new Error(`${argv.join(' ')} exited ${run.status}: ${run.stderr}`);
  const last = (await readFile(timing, 'utf8')).trim().split('\n').pop() ?? '';
  const [user, sys, rssKb] = last.split(' ').map(Number);
  if (user === undefined || sys === undefined || rssKb === undefined || Number.isNaN(rssKb))
    throw new Error(`unreadable ${time} output: ${last}`);
  return { wallMs, cpuMs: (user + sys) * 1000, rssMb: rssKb / 1024 };
}

/**
 * A run through bin/kiln.js that took the dist/ path: the build is current before and after it
 * (others may edit src/ meanwhile; a run that straddles an edit is done again on a fresh build).
 */
async function onceFromDist(args: string[]): Promise<Sample> {
  for (let attempt = 0; attempt < 5; attempt++) {
    if (!currentBuild()) build();
    const sample = await once(['node', 'bin/kiln.js', ...args]);
    if (currentBuild()) return sample;
  }
  throw new Error('src/ kept changing: no run from a current dist/');
}

function build(): void {
  execFileSync('node', ['scripts/build.js'], { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });
}

/** Instructions (millions) one run of `argv` executes, all threads, from callgrind's totals. */
async function instructions(argv: string[]): Promise<number> {
  const out = path.join(dir, 'callgrind.%p');
  const run = spawnSync(
    'valgrind',
    ['--tool=callgrind', '--trace-children=yes', `--callgrind-out-file=${out}`, ...argv],
    { cwd: root, encoding: 'utf8', env: { ...process.env, KILN_LOG_LEVEL: 'warn' } },
  );
  if (run.error) throw new Error('running valgrind (is it installed?)', { cause: run.error });
  if (run.status !== 0) throw new Error(`valgrind ${argv.join(' ')} exited ${run.status}`);
  let total = 0;
  for (const file of (await readdir(dir)).filter((f) => f.startsWith('callgrind.'))) {
    const text = await readFile(path.join(dir, file), 'utf8');
    total += Number(/^(?:summary|totals): (\d+)/m.exec(text)?.[1] ?? Number.NaN);
    await rm(path.join(dir, file));
  }
  return total / 1e6;
}

/** Callgrind's count for a run from dist/ (rebuilt first if others edited src/ meanwhile). */
async function instructionsFromDist(args: string[]): Promise<number> {
  if (!currentBuild()) build();
  return instructions(['node', 'bin/kiln.js', ...args]);
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2
    ? (s[(s.length - 1) / 2] ?? 0)
    : ((s[s.length / 2 - 1] ?? 0) + (s[s.length / 2] ?? 0)) / 2;
};

async function measure(run: () => Promise<Sample>): Promise<Sample> {
  await run(); // warm: the page cache, and tsx's own transform cache
  const samples: Sample[] = [];
  for (let i = 0; i < runs; i++) samples.push(await run());
  return {
    wallMs: median(samples.map((s) => s.wallMs)),
    cpuMs: median(samples.map((s) => s.cpuMs)),
    rssMb: median(samples.map((s) => s.rssMb)),
  };
}

const commands = [
  { label: 'kiln --help', args: ['--help'], goal: '< 150 ms' },
  { label: 'kiln lint recipes', args: ['lint', 'recipes'], goal: '< 300 ms' },
];

try {
  build();
  const rows: (string | number)[][] = [];
  const floor = await measure(() => once(['node', '-e', '0']));
  // On a busy machine every wall figure grows; the CPU above the floor is the steadier comparison.
  const floorIr = countInstructions ? await instructions(['node', '-e', '0']) : undefined;
  const row = (what: string, path: string, s: Sample, goal: string, ir?: number) =>
    rows.push([
      what,
      path,
      fixed(s.wallMs, 0),
      fixed(s.cpuMs, 0),
      fixed(s.cpuMs - floor.cpuMs, 0),
      ...(countInstructions ? [ir === undefined ? '' : fixed(ir, 0)] : []),
      fixed(s.rssMb, 0),
      goal,
    ]);
  row('node -e 0', 'floor', floor, '', floorIr);
  for (const c of commands) {
    const fromDist = await measure(() => onceFromDist(c.args));
    const ir = countInstructions ? await instructionsFromDist(c.args) : undefined;
    row(c.label, 'dist/ (bin/kiln.js)', fromDist, c.goal, ir);
    const tsx = ['node', '--import', 'tsx', 'src/cli.ts', ...c.args];
    row(c.label, 'sources (tsx)', await measure(() => once(tsx)), '');
  }
  const load = os
    .loadavg()
    .map((l) => l.toFixed(1))
    .join(' ');
  printTable(
    `CLI start-up, median of ${runs} runs (${os.cpus().length} CPUs, load average ${load})`,
    [
      'command',
      'path',
      'wall ms',
      'CPU ms',
      'CPU over floor',
      ...(countInstructions ? ['instructions (M)'] : []),
      'peak RSS MB',
      'goal (wall)',
    ],
    rows,
  );
} finally {
  await rm(dir, { recursive: true, force: true });
}
