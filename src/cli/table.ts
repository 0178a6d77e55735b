/*
 * Plain-text output for the CLI: aligned tables, colour only where it helps (a TTY, and never
 * with NO_COLOR set), and `--json` output that is exactly one JSON document on stdout.
 */

/** Anything output goes to: process.stdout, process.stderr, or a test's collector. */
export interface OutputStream {
  write(chunk: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

/**
 * Colour only on a terminal, never when NO_COLOR is set to anything non-empty (no-color.org),
 * never for TERM=dumb. FORCE_COLOR=1 turns it on for a pipe, unless NO_COLOR is set.
 */
export function shouldUseColor(
  stream: OutputStream,
  env: NodeJS.ProcessEnv = process.env,
): boolean {
  if (env.NO_COLOR) return false;
  if (env.FORCE_COLOR && env.FORCE_COLOR !== '0') return true;
  if (env.TERM === 'dumb') return false;
  return stream.isTTY === true;
}

const codes = {
  red: 31,
  green: 32,
  yellow: 33,
  blue: 34,
  magenta: 35,
  cyan: 36,
  gray: 90,
  bold: 1,
  dim: 2,
} as const;
export type ColorName = keyof typeof codes;

/** Wraps text in an ANSI colour when `enabled`; otherwise returns it unchanged. */
export function paint(text: string, color: ColorName | undefined, enabled: boolean): string {
  if (!enabled || !color || text === '') return text;
  const reset = color === 'bold' || color === 'dim' ? 22 : 39;
  return `\x1b[${codes[color]}m${text}\x1b[${reset}m`;
}

const ansi = /\x1b\[[0-9;]*m/g;

/** Display width: code points, ignoring colour codes (kiln prints no wide characters). */
export function displayWidth(text: string): number {
  return [...text.replace(ansi, '')].length;
}

function truncate(text: string, width: number): string {
  const chars = [...text];
  return chars.length <= width ? text : `${chars.slice(0, Math.max(0, width - 1)).join('')}…`;
}

export interface Column<T> {
  header: string;
  value: (row: T) => string | number | undefined;
  align?: 'left' | 'right';
  /** Colour of a cell, when colour is on. */
  color?: (row: T) => ColorName | undefined;
}

export interface TableOptions {
  /** Colour cells and headers; default false (decide with shouldUseColor). */
  color?: boolean;
  /** Total width to fit in (e.g. the terminal's columns): the widest column is shortened with `…`. */
  maxWidth?: number;
  /** Spaces between columns. */
  gap?: number;
}

/** An aligned plain-text table, header first, one line per row, no trailing spaces. */
export function renderTable<T>(
  rows: readonly T[],
  columns: readonly Column<T>[],
  options: TableOptions = {},
): string {
  const gap = ' '.repeat(options.gap ?? 2);
  const cells = rows.map((row) => columns.map((c) => String(c.value(row) ?? '')));
  const widths = columns.map((c, i) =>
    Math.max(displayWidth(c.header), ...cells.map((r) => displayWidth(r[i]!))),
  );
  if (options.maxWidth !== undefined) {
    const total = () => widths.reduce((a, b) => a + b, 0) + gap.length * (widths.length - 1);
    while (total() > options.maxWidth) {
      const widest = widths.indexOf(Math.max(...widths));
      if (widths[widest]! <= 8) break;
      widths[widest]! -= 1;
    }
  }
  const line = (values: string[], colorOf: (i: number) => ColorName | undefined) =>
    values
      .map((v, i) => {
        const text = truncate(v, widths[i]!);
        const pad = ' '.repeat(widths[i]! - displayWidth(text));
        const last = i === values.length - 1;
        const painted = paint(text, colorOf(i), options.color ?? false);
        return columns[i]!.align === 'right' ? pad + painted : last ? painted : painted + pad;
      })
      .join(gap)
      .trimEnd();
  const header = line(
    columns.map((c) => c.header),
    () => 'bold',
  );
  const body = cells.map((values, r) => line(values, (i) => columns[i]!.color?.(rows[r]!)));
  return [header, ...body].join('\n') + '\n';
}

/** `--json`: one JSON document on stdout, nothing else there (progress and logs go to stderr). */
export function printJson(value: unknown, stream: OutputStream = process.stdout): void {
  stream.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** Prints a command's result as JSON with `--json`, else as the human text `human` makes of it. */
export function printResult<T>(
  value: T,
  options: {
    json?: boolean;
    human: (value: T, color: boolean) => string;
    stream?: OutputStream;
    env?: NodeJS.ProcessEnv;
  },
): void {
  const stream = options.stream ?? process.stdout;
  if (options.json) printJson(value, stream);
  else stream.write(options.human(value, shouldUseColor(stream, options.env)));
}
