import type { RecipePlan } from './plan-recipes.ts';

const columns = ['RECIPE', 'STREAM', 'PUBLISHED', 'CANDIDATE', 'DECISION', 'REASON'] as const;

/** The plan as an aligned text table, for people; `--json` is for programs. */
export function renderPlanTable(plans: readonly RecipePlan[], problems: readonly string[] = [], note?: string): string {
  const rows = plans.flatMap((p) =>
    p.decisions.map((d) => [
      d.recipe,
      d.stream,
      d.published ?? '-',
      d.candidate ?? '-',
      d.kind === 'build' ? `build ${d.version}-r${d.epoch}` : d.kind,
      d.kind === 'build' ? `${d.reason}; tags ${d.tags.join(' ')}` : d.reason,
    ]),
  );
  const widths = columns.map((c, i) => Math.max(c.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells.map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i] ?? 0))).join('  ').trimEnd();
  const out = [line(columns), ...rows.map(line)];
  const counts = new Map<string, number>();
  for (const p of plans) for (const d of p.decisions) counts.set(d.kind, (counts.get(d.kind) ?? 0) + 1);
  out.push('', `${plans.length} recipes: ${[...counts].map(([k, n]) => `${n} ${k}`).join(', ') || 'nothing to do'}; nothing enqueued`);
  if (note) out.push(`published state: ${note}`);
  if (problems.length > 0) out.push('', `${problems.length} problem(s) in recipes that were skipped:`, ...problems.map((p) => `  ${p}`));
  return `${out.join('\n')}\n`;
}
