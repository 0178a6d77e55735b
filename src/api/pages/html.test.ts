import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatBytes, formatDuration, formatTime, shortDigest } from './format.ts';
import { escapeHtml, html, safeHref } from './html.ts';

describe('html template', () => {
  it('escapes interpolated text, keeps nested templates, drops null and false', () => {
    const inner = html`<b>${'<i>'}</b>`;
    expect(
      html`<p title="${'"x"'}">${'<script>'}${inner}${null}${false}${[1, html`<br />`]}</p>`.value,
    ).toBe('<p title="&quot;x&quot;">&lt;script&gt;<b>&lt;i&gt;</b>1<br /></p>');
  });

  it('never lets markup characters through, whatever the text', () => {
    fc.assert(
      fc.property(fc.string(), (text) => {
        const out = html`<div>${text}</div>`.value.slice('<div>'.length, -'</div>'.length);
        expect(out).not.toMatch(/[<>"'`]/);
        expect(out.replace(/&(amp|lt|gt|quot|#39|#96);/g, '')).not.toContain('&');
        expect(escapeHtml(text).length).toBeGreaterThanOrEqual(text.length);
      }),
    );
  });

  it('makes links only of http and https URLs', () => {
    expect(safeHref('https://example.invalid/x?a=1')).toBe('https://example.invalid/x?a=1');
    expect(safeHref('javascript:alert(1)')).toBeUndefined();
    expect(safeHref(' JavaScript:alert(1)')).toBeUndefined();
    expect(safeHref('data:text/html,<script>')).toBeUndefined();
    expect(safeHref('not a url')).toBeUndefined();
    expect(safeHref(undefined)).toBeUndefined();
  });
});

describe('formatting', () => {
  it('formats durations, sizes, times and digests for people', () => {
    expect(formatDuration(null)).toBe('—');
    expect(formatDuration(42)).toBe('42 s');
    expect(formatDuration(95)).toBe('1 min 35 s');
    expect(formatDuration(45 * 60)).toBe('45 min');
    expect(formatDuration(26.5 * 3600)).toBe('26 h 30 min');
    expect(formatDuration(51 * 3600)).toBe('2 d 3 h');
    expect(formatBytes(304)).toBe('304 B');
    expect(formatBytes(12_345_678)).toBe('12 MiB');
    expect(formatBytes(1536)).toBe('1.5 KiB');
    expect(formatTime('2026-01-05T08:00:30Z')).toBe('2026-01-05 08:00 UTC');
    expect(formatTime('garbage')).toBe('—');
    expect(shortDigest(`sha256:${'a'.repeat(64)}`)).toBe(`sha256:${'a'.repeat(12)}…`);
  });
});
