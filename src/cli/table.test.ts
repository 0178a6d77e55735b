import { describe, expect, it } from 'vitest';
import { displayWidth, paint, printResult, renderTable, shouldUseColor } from './table.ts';

function collector(isTTY: boolean) {
  const chunks: string[] = [];
  return { isTTY, write: (s: string) => chunks.push(s), text: () => chunks.join('') };
}

interface Row {
  image: string;
  version: string;
  size: number;
  stale: boolean;
}
const rows: Row[] = [
  { image: 'python', version: '3.12.7-r0', size: 51234, stale: false },
  { image: 'node-distroless', version: '22.11.0-r3', size: 7, stale: true },
];
const columns = [
  { header: 'IMAGE', value: (r: Row) => r.image },
  {
    header: 'VERSION',
    value: (r: Row) => r.version,
    color: (r: Row) => (r.stale ? ('red' as const) : undefined),
  },
  { header: 'SIZE', value: (r: Row) => r.size, align: 'right' as const },
];

describe('tables', () => {
  it('aligns columns, right-aligns numbers, and leaves no trailing spaces', () => {
    expect(renderTable(rows, columns)).toBe(
      [
        'IMAGE            VERSION      SIZE',
        'python           3.12.7-r0   51234',
        'node-distroless  22.11.0-r3      7',
        '',
      ].join('\n'),
    );
  });

  it('colours only when asked, and colour does not change the alignment', () => {
    const plain = renderTable(rows, columns);
    const coloured = renderTable(rows, columns, { color: true });
    expect(plain).not.toContain('\x1b[');
    expect(coloured).toContain('\x1b[31m22.11.0-r3\x1b[39m');
    expect(coloured.split('\n').map(displayWidth)).toEqual(plain.split('\n').map(displayWidth));
  });

  it('shortens the widest column to fit a width', () => {
    const out = renderTable(rows, columns, { maxWidth: 30 });
    for (const line of out.trimEnd().split('\n'))
      expect(displayWidth(line)).toBeLessThanOrEqual(30);
    expect(out).toContain('…');
  });

  it('decides colour from the stream and NO_COLOR', () => {
    expect(shouldUseColor({ isTTY: true, write: () => 0 }, {})).toBe(true);
    expect(shouldUseColor({ isTTY: false, write: () => 0 }, {})).toBe(false);
    expect(shouldUseColor({ isTTY: true, write: () => 0 }, { NO_COLOR: '1' })).toBe(false);
    expect(shouldUseColor({ isTTY: true, write: () => 0 }, { TERM: 'dumb' })).toBe(false);
    expect(shouldUseColor({ isTTY: false, write: () => 0 }, { FORCE_COLOR: '1' })).toBe(true);
    expect(
      shouldUseColor({ isTTY: false, write: () => 0 }, { FORCE_COLOR: '1', NO_COLOR: 'x' }),
    ).toBe(false);
    expect(paint('x', 'red', false)).toBe('x');
  });

  it('prints one JSON document with --json, human text otherwise', () => {
    const json = collector(true);
    printResult({ a: 1 }, { json: true, stream: json, human: () => 'nope' });
    expect(JSON.parse(json.text())).toEqual({ a: 1 });
    const human = collector(true);
    printResult(
      { a: 1 },
      { stream: human, env: { NO_COLOR: '1' }, human: (v, color) => `a=${v.a} color=${color}\n` },
    );
    expect(human.text()).toBe('a=1 color=false\n');
  });
});
