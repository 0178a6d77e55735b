/*
 * A tagged template that escapes every interpolated value unless it is already Html. Text from
 * recipes and upstreams (descriptions, URLs, versions) only ever enters pages through it, so a
 * description holding `<script>` renders as text. Eight lines of escaping do not need a library.
 */

/** Markup that is already safe: made by `html` or by `raw` from a constant. */
export class Html {
  constructor(readonly value: string) {}
  toString(): string {
    return this.value;
  }
}

const entities: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
  '`': '&#96;',
};

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"'`]/g, (c) => entities[c]!);
}

function render(value: unknown): string {
  if (value instanceof Html) return value.value;
  if (Array.isArray(value)) return value.map(render).join('');
  if (value === undefined || value === null || value === false) return '';
  return escapeHtml(String(value));
}

export function html(strings: TemplateStringsArray, ...values: unknown[]): Html {
  let out = strings[0]!;
  values.forEach((value, i) => {
    out += render(value) + strings[i + 1]!;
  });
  return new Html(out);
}

/** Only http(s) links from recipes become hrefs: a `javascript:` homepage must not be clickable. */
export function safeHref(url: string | null | undefined): string | undefined {
  if (!url) return undefined;
  try {
    const parsed = new URL(url);
    return parsed.protocol === 'http:' || parsed.protocol === 'https:' ? parsed.href : undefined;
  } catch {
    return undefined;
  }
}

/** A table cell labelled for narrow screens, where rows become cards (see catalog.css). */
export function cell(label: string, content: unknown): Html {
  return html`<td data-label="${label}"><div>${content}</div></td>`;
}
