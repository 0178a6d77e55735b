/*
 * Debian control data (deb822): paragraphs of `Field: value` lines separated by blank lines,
 * continuation lines start with a space or tab. Used for Packages, Release and a .deb's control.
 * Field names are case-insensitive; they are kept in the case of the file, looked up lowercased.
 */

export type Paragraph = Map<string, string>;

/** Parses every paragraph; continuation lines are joined with `\n` (a lone `.` is an empty line). */
export function parseControl(text: string): Paragraph[] {
  const out: Paragraph[] = [];
  let current: Paragraph | undefined;
  let last: string | undefined;
  for (const line of text.split('\n')) {
    if (line.trim() === '') {
      if (current && current.size > 0) out.push(current);
      current = undefined;
      last = undefined;
      continue;
    }
    if (line.startsWith('#')) continue;
    if (line.startsWith(' ') || line.startsWith('\t')) {
      if (current && last !== undefined) {
        const rest = line.slice(1);
        current.set(last, `${current.get(last) ?? ''}\n${rest === '.' ? '' : rest}`);
      }
      continue;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    current ??= new Map();
    last = line.slice(0, colon).trim().toLowerCase();
    current.set(last, line.slice(colon + 1).trim());
  }
  if (current && current.size > 0) out.push(current);
  return out;
}

/** Writes a paragraph back in deb822 form, fields in the given order. */
export function formatParagraph(fields: [string, string | undefined][]): string {
  let out = '';
  for (const [name, value] of fields) {
    if (value === undefined || value === '') continue;
    const lines = value.split('\n');
    out += `${name}: ${lines[0]}\n`;
    // A whitespace-only line would read as the blank line that ends the paragraph.
    for (const rest of lines.slice(1)) out += ` ${rest.trim() === '' ? '.' : rest}\n`;
  }
  return out;
}
