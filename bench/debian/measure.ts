import { execa } from 'execa';

/** What one child process cost, as `/usr/bin/time` reports it. */
export interface ProcessCost {
  wallMs: number;
  cpuMs: number;
  /** Peak resident set size, in bytes. */
  peakRss: number;
  stdout: string;
  stderr: string;
  exitCode: number;
}

/** Runs a command under `/usr/bin/time` (wall, user + system CPU, peak RSS of the process). */
export async function measure(
  command: string,
  args: string[],
  options: { env?: Record<string, string>; cwd?: string; timeoutMs?: number } = {},
): Promise<ProcessCost> {
  const marker = '@@kiln-bench-time';
  const r = await execa('/usr/bin/time', ['-f', `${marker} %e %U %S %M`, command, ...args], {
    reject: false,
    env: options.env,
    cwd: options.cwd,
    timeout: options.timeoutMs ?? 900_000,
  });
  const line = r.stderr.split('\n').find((l) => l.startsWith(marker));
  const [wall = NaN, user = NaN, sys = NaN, rssKb = NaN] = (line ?? '')
    .slice(marker.length)
    .trim()
    .split(/\s+/)
    .map(Number);
  return {
    wallMs: wall * 1000,
    cpuMs: (user + sys) * 1000,
    peakRss: rssKb * 1024,
    stdout: r.stdout,
    stderr: r.stderr
      .split('\n')
      .filter((l) => !l.startsWith(marker))
      .join('\n'),
    exitCode: r.exitCode ?? -1,
  };
}
