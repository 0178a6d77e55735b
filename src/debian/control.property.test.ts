import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatParagraph, parseControl } from './control.ts';

const fieldName = fc.stringMatching(/^[A-Za-z][A-Za-z0-9-]{0,15}$/);
/** A first line as deb822 keeps it: no surrounding whitespace (the parser trims it). */
const firstLine = fc.stringMatching(/^([!-~]([ -~]{0,30}[!-~])?)?$/);
/** Any printable continuation line but a lone `.`, which deb822 reserves for an empty line. */
const continuation = fc.stringMatching(/^[ -~\t]{0,30}$/).filter((l) => l !== '.');
const value = fc
  .tuple(firstLine, fc.array(continuation, { maxLength: 4 }))
  .filter(([first, rest]) => first !== '' || rest.length > 0)
  .map(([first, rest]) => [first, ...rest].join('\n'));
const paragraph = fc.uniqueArray(fc.tuple(fieldName, value), {
  minLength: 1,
  maxLength: 6,
  selector: ([name]) => name.toLowerCase(),
});

/** What a value reads back as: deb822 has no whitespace-only line, it becomes an empty one. */
const expected = (v: string) =>
  v
    .split('\n')
    .map((line, i) => (i > 0 && line.trim() === '' ? '' : line))
    .join('\n');

describe('deb822 control data, by property', () => {
  it('never throws, whatever the text', () => {
    const deb822ish = fc
      .array(fc.constantFrom('Field', 'x', ':', ': ', ' ', '\t', '\n', '\n\n', '.', '#', '\r', '-'))
      .map((parts) => parts.join(''));
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit: 'binary' }), deb822ish), (text) => {
        for (const p of parseControl(text)) {
          expect(p.size).toBeGreaterThan(0);
          for (const name of p.keys()) expect(name).toBe(name.toLowerCase());
        }
      }),
      { numRuns: 400 },
    );
  });

  it('reads back what formatParagraph wrote, each paragraph whole', () => {
    fc.assert(
      fc.property(fc.array(paragraph, { minLength: 1, maxLength: 3 }), (paragraphs) => {
        const text = paragraphs.map((p) => formatParagraph(p)).join('\n');
        const parsed = parseControl(text);
        expect(parsed).toHaveLength(paragraphs.length);
        parsed.forEach((p, i) => {
          const fields = paragraphs[i] ?? [];
          expect([...p.keys()]).toEqual(fields.map(([n]) => n.toLowerCase()));
          for (const [name, v] of fields) expect(p.get(name.toLowerCase())).toBe(expected(v));
        });
      }),
      { numRuns: 500 },
    );
  });
});
