import type { ImageDetailView, ImageSummaryView } from '../image-view.ts';
import { html, type Html } from './html.ts';

/*
 * How the pages show an image's CVEs (the last scan of its latest release against
 * KILN_VULN_FEED) and what each nano update fixed.
 */

type Cves = ImageSummaryView['cves'];

const shown = ['high', 'medium', 'not yet assigned', 'low', 'unimportant', 'end-of-life'];

/** `3 open (1 high, 2 low) · 1 fixable`, or `not scanned`. */
export function cveCounts(cves: Cves): Html {
  if (!cves) return html`<span class="muted cves">not scanned</span>`;
  const parts = shown
    .filter((u) => (cves.byUrgency[u] ?? 0) > 0)
    .map((u) => `${String(cves.byUrgency[u])} ${u}`);
  const fixable =
    cves.fixable > 0
      ? html` ·
          <span class="badge warn" title="a fix is already in one of the image's suites"
            >${cves.fixable} fixable</span
          >`
      : html` · <span class="badge ok">0 fixable</span>`;
  return html`<span class="cves"
    >${cves.total} open${parts.length ? ` (${parts.join(', ')})` : ''}${fixable}</span
  >`;
}

/** The fixable CVEs of the latest release, each with the version and suite that fix it. */
export function fixableList(cves: Cves): Html {
  if (!cves || cves.fixableCves.length === 0) return html``;
  return html`<ul class="fixable">
    ${cves.fixableCves.map(
      (f) =>
        html`<li>
          <code>${f.cve}</code> (${f.urgency}): ${f.source} ${f.installed} → ${f.fixedVersion} in
          ${f.suite}
        </li>`,
    )}
  </ul>`;
}

type Version = ImageDetailView['versions'][number];

/** `r3: openssl 3.5.4-1~deb13u1 → 3.5.4-1~deb13u2 fixes CVE-…`, one line per changed package. */
export function fixNotes(v: Version): Html {
  if (v.fixes.length === 0) return html`—`;
  return html`${v.fixes.map(
    (f) =>
      html`<div class="fix-note">
        r${v.epoch}: ${f.package} ${f.from} → ${f.to}
        ${f.cves.length > 0 ? `fixes ${f.cves.join(', ')}` : f.changelogFound ? 'names no CVE' : '(no changelog in the .deb)'}
      </div>`,
  )}`;
}
