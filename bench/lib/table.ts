/** Prints a markdown table: what every bench/ script ends with. */
export function printTable(title: string, header: string[], rows: (string | number)[][]): void {
  const cells = [header, ...rows.map((r) => r.map(String))];
  const widths = header.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) => `| ${r.map((c, i) => c.padEnd(widths[i] ?? 0)).join(' | ')} |`;
  process.stdout.write(`\n### ${title}\n\n`);
  process.stdout.write(`${line(header)}\n`);
  process.stdout.write(`| ${widths.map((w) => '-'.repeat(w)).join(' | ')} |\n`);
  for (const r of cells.slice(1)) process.stdout.write(`${line(r)}\n`);
  process.stdout.write('\n');
}

/** Formats a number with a fixed count of decimals. */
export function fixed(n: number, digits = 1): string {
  return n.toFixed(digits);
}
