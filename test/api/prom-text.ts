/*
 * A strict parser of the Prometheus text exposition format (0.0.4), for tests: every line must be
 * a HELP, a TYPE, or a sample of a declared family, label values unescaped, and histograms
 * checked for cumulative buckets ending in +Inf equal to _count.
 */

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Family {
  name: string;
  help: string;
  type: 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped';
  samples: Sample[];
}

const nameRe = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;

function parseValue(text: string, line: string): number {
  if (text === '+Inf') return Infinity;
  if (text === '-Inf') return -Infinity;
  if (text === 'NaN') return NaN;
  const n = Number(text);
  if (text === '' || Number.isNaN(n)) throw new Error(`bad value in: ${line}`);
  return n;
}

function parseLabels(text: string, line: string): [Record<string, string>, string] {
  const labels: Record<string, string> = {};
  let rest = text;
  if (!rest.startsWith('{')) return [labels, rest];
  rest = rest.slice(1);
  while (!rest.startsWith('}')) {
    const name = /^([a-zA-Z_][a-zA-Z0-9_]*)="/.exec(rest);
    if (!name) throw new Error(`bad label in: ${line}`);
    rest = rest.slice(name[0].length);
    let value = '';
    for (;;) {
      const c = rest[0];
      if (c === undefined) throw new Error(`unterminated label value in: ${line}`);
      rest = rest.slice(1);
      if (c === '"') break;
      if (c === '\\') {
        const e = rest[0];
        rest = rest.slice(1);
        value +=
          e === 'n'
            ? '\n'
            : e === '\\'
              ? '\\'
              : e === '"'
                ? '"'
                : (() => {
                    throw new Error(`bad escape in: ${line}`);
                  })();
      } else value += c;
    }
    if (name[1]! in labels) throw new Error(`duplicate label ${name[1]} in: ${line}`);
    labels[name[1]!] = value;
    if (rest.startsWith(',')) rest = rest.slice(1);
  }
  return [labels, rest.slice(1)];
}

function familyOf(sample: string, families: Map<string, Family>): Family | undefined {
  if (families.has(sample)) return families.get(sample);
  const base = sample.replace(/_(bucket|sum|count)$/, '');
  const f = families.get(base);
  return f && (f.type === 'histogram' || f.type === 'summary') ? f : undefined;
}

export function parsePrometheusText(text: string): Map<string, Family> {
  const families = new Map<string, Family>();
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    const meta = /^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) ?(.*)$/.exec(line);
    if (meta) {
      const [, kind, name, rest] = meta;
      const f = families.get(name!) ?? {
        name: name!,
        help: '',
        type: 'untyped' as const,
        samples: [],
      };
      if (kind === 'HELP') f.help = rest!;
      else {
        if (!['counter', 'gauge', 'histogram', 'summary', 'untyped'].includes(rest!))
          throw new Error(`bad TYPE: ${line}`);
        f.type = rest as Family['type'];
      }
      families.set(name!, f);
      continue;
    }
    if (line.startsWith('#')) continue;
    const name = nameRe.exec(line)?.[0];
    if (!name) throw new Error(`bad sample line: ${line}`);
    const [labels, rest] = parseLabels(line.slice(name.length), line);
    const parts = rest.trim().split(/\s+/);
    if (parts.length < 1 || parts.length > 2) throw new Error(`bad sample line: ${line}`);
    const family = familyOf(name, families);
    if (!family) throw new Error(`sample of an undeclared family: ${line}`);
    family.samples.push({ name, labels, value: parseValue(parts[0]!, line) });
  }
  for (const f of families.values()) if (f.type === 'histogram') checkHistogram(f);
  return families;
}

function checkHistogram(f: Family): void {
  const series = new Map<string, Sample[]>();
  for (const s of f.samples.filter((x) => x.name === `${f.name}_bucket`)) {
    const { le, ...rest } = s.labels;
    if (le === undefined) throw new Error(`${f.name}: bucket without le`);
    const key = labelKey(rest);
    series.set(key, [...(series.get(key) ?? []), s]);
  }
  for (const [key, buckets] of series) {
    let previous = -Infinity;
    for (const b of buckets) {
      if (b.value < previous) throw new Error(`${f.name}${key}: buckets not cumulative`);
      previous = b.value;
    }
    const inf = buckets.at(-1);
    const count = f.samples.find((s) => s.name === `${f.name}_count` && labelKey(s.labels) === key);
    if (inf?.labels.le !== '+Inf' || count?.value !== inf.value)
      throw new Error(`${f.name}${key}: +Inf bucket must equal _count`);
  }
}

/** The value of one sample, by family (or sample) name and a subset of labels. */
export function sampleValue(
  families: Map<string, Family>,
  name: string,
  labels: Record<string, string> = {},
): number | undefined {
  const family = familyOf(name, families);
  return family?.samples.find(
    (s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v),
  )?.value;
}

function labelKey(labels: Record<string, string>): string {
  return JSON.stringify(Object.entries(labels).sort(([a], [b]) => a.localeCompare(b)));
}
