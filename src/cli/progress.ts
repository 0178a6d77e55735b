import { paint, shouldUseColor, type OutputStream } from './table.ts';

/*
 * Progress of long operations (`kiln build`: resolve, download, assemble, test, push). Output
 * goes to stderr so `--json` on stdout stays one clean document. On a terminal a download redraws
 * one line in place, at most ten times a second; in a pipe or a CI log each stage is one line and
 * a download reports every 25 %, so logs stay short and readable.
 */

export interface ProgressOptions {
  /** Where progress goes; default process.stderr. */
  stream?: OutputStream;
  env?: NodeJS.ProcessEnv;
  /** How many stages the operation has, for `[2/5]`; unknown means no counter. */
  stages?: number;
  /** Print nothing (e.g. `--quiet`). */
  quiet?: boolean;
  /** Clock, for tests. */
  now?: () => number;
}

export interface Progress {
  /** Starts the next stage; the previous one, if still open, is finished first. */
  stage(name: string): void;
  /** Amount done in the current stage, e.g. bytes downloaded of `total`. */
  update(done: number, total?: number, unit?: 'bytes' | 'items'): void;
  /** Finishes the current stage, with an optional note (e.g. "142 packages"). */
  done(note?: string): void;
  /** Finishes the current stage as failed. */
  fail(message: string): void;
  /** A line of information between stages. */
  info(message: string): void;
}

export function formatAmount(n: number, unit: 'bytes' | 'items'): string {
  if (unit === 'items') return String(n);
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(v < 10 ? 1 : 0)} ${units[i]}`;
}

export function formatElapsed(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)} s`;
  return `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
}

function bar(fraction: number, width: number): string {
  const filled = Math.round(Math.min(1, Math.max(0, fraction)) * width);
  return `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}]`;
}

export function createProgress(options: ProgressOptions = {}): Progress {
  const stream = options.stream ?? process.stderr;
  const now = options.now ?? Date.now;
  const tty = stream.isTTY === true;
  const color = shouldUseColor(stream, options.env);
  const quiet = options.quiet ?? false;
  let index = 0;
  let current: { name: string; startedAt: number } | undefined;
  let lastDraw = 0;
  let lastQuarter = -1;
  let lineOpen = false;

  const write = (text: string) => {
    if (!quiet) stream.write(text);
  };
  const clearLine = () => {
    if (lineOpen) write('\r\x1b[2K');
    lineOpen = false;
  };
  const counter = () => (options.stages ? `[${index}/${options.stages}] ` : '');

  function finish(mark: string, markColor: 'green' | 'red', note: string | undefined): void {
    if (!current) return;
    clearLine();
    const elapsed = paint(`(${formatElapsed(now() - current.startedAt)})`, 'gray', color);
    write(
      `${paint(mark, markColor, color)} ${current.name}${note ? `: ${note}` : ''} ${elapsed}\n`,
    );
    current = undefined;
  }

  return {
    stage(name) {
      finish('✓', 'green', undefined);
      index++;
      current = { name, startedAt: now() };
      lastDraw = 0;
      lastQuarter = -1;
      write(`${paint('==>', 'cyan', color)} ${counter()}${name}\n`);
    },
    update(done, total, unit = 'bytes') {
      if (!current) return;
      const amount = total
        ? `${formatAmount(done, unit)} / ${formatAmount(total, unit)}`
        : formatAmount(done, unit);
      const fraction = total ? done / total : undefined;
      if (tty) {
        const t = now();
        if (t - lastDraw < 100 && !(total && done >= total)) return;
        lastDraw = t;
        const width = Math.max(10, Math.min(30, (stream.columns ?? 80) - 40));
        const shown =
          fraction === undefined
            ? amount
            : `${bar(fraction, width)} ${Math.floor(fraction * 100)}% ${amount}`;
        write(`\r\x1b[2K    ${shown}`);
        lineOpen = true;
      } else if (fraction !== undefined) {
        const quarter = Math.floor(Math.min(1, fraction) * 4);
        if (quarter > lastQuarter) {
          lastQuarter = quarter;
          write(`    ${quarter * 25}% ${amount}\n`);
        }
      }
    },
    done(note) {
      finish('✓', 'green', note);
    },
    fail(message) {
      finish('✗', 'red', message);
    },
    info(message) {
      clearLine();
      write(`    ${message}\n`);
    },
  };
}
