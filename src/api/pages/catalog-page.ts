import type { FreshnessSummary } from '../../catalog/freshness.ts';
import type { ImageListView, ImageSummaryView } from '../image-view.ts';
import { formatBytes, formatDuration, formatTime, shortDigest } from './format.ts';
import { cell, html, type Html } from './html.ts';
import { layout } from './layout.ts';
import { cveCounts } from './cves.ts';

/**
 * Freshness; when only the time kiln first saw the release is known, it is a lower bound and the
 * page says so (the figure keeps the same definition).
 */
export function freshness(seconds: number | null, source: string | null): Html {
  return source === 'first-seen'
    ? html`<span
        class="first-seen"
        title="release time unknown: counted from when kiln first saw the release"
        >≥ ${formatDuration(seconds)}</span
      >`
    : html`${formatDuration(seconds)}`;
}

export function yesNo(ok: boolean, yes: string, no: string): Html {
  return html`<span class="${ok ? 'badge ok' : 'badge warn'}">${ok ? yes : no}</span>`;
}

/**
 * One image's cells: a main image's row names it; a variant's row, under it in the same entry,
 * says which variant it is (`-dev`) and links to its page.
 */
function row(image: ImageSummaryView): Html {
  const name = image.variantOf
    ? html`<a class="variant-name" href="/images/${encodeURIComponent(image.name)}"
          >-${image.variant ?? ''}</a
        >
        <span class="muted">variant</span>`
    : html`<a class="name" href="/images/${encodeURIComponent(image.name)}">${image.name}</a>
        <div class="desc">${image.description ?? ''}</div>`;
  const latest = html`<code class="version">${image.versionTag}</code><br /><code
      class="digest"
      title="${image.digest}"
      >${shortDigest(image.digest)}</code
    >`;
  const stale = image.stale
    ? html` <span
        class="badge bad"
        title="upstream ${image.pendingUpstream?.version ?? ''} not published yet"
        >stale</span
      >`
    : '';
  return html`<tr
    class="${image.variantOf ? 'variant' : 'main'}"
    data-image="${image.name}"
    data-variant="${image.variant ?? ''}"
  >
    ${cell('Image', name)} ${cell('Latest', latest)}
    ${cell(
      'Tags',
      image.tags.map((t) => html`<code class="tag">${t}</code> `),
    )}
    ${cell('Last build', formatTime(image.builtAt))}
    ${cell('Freshness', html`${freshness(image.freshnessSeconds, image.upstreamReleasedAtSource)}${stale}`)}
    ${cell(
      'Size',
      image.archs.map((a) => html`<span class="arch">${a.arch} ${formatBytes(a.size)}</span> `),
    )}
    ${cell('Signed', yesNo(image.signed, 'signed', 'unsigned'))}
    ${cell('SBOM', yesNo(image.sbom, 'SBOM', 'no SBOM'))} ${cell('CVEs', cveCounts(image.cves))}
  </tr>`;
}

/** One catalog entry: the image, then each of its variants beside it (`latest`, `latest-dev`). */
function entry(image: ImageListView): Html {
  return html`<tbody class="entry" id="entry-${image.name}">
    ${row(image)} ${image.variants.map(row)}
  </tbody>`;
}

/** The list's entries: every image that is no other listed image's variant. */
export function catalogEntries(images: readonly ImageListView[]): ImageListView[] {
  const variants = new Set(images.flatMap((i) => i.variants.map((v) => v.name)));
  return images.filter((i) => !variants.has(i.name));
}

/** The list of every image: what a consumer scans first, and an operator's at-a-glance view. */
export function catalogPage(
  images: readonly ImageListView[],
  freshness: FreshnessSummary,
  timeToFix?: FreshnessSummary,
): Html {
  const entries = catalogEntries(images);
  const variantCount = images.length - entries.length;
  const stale = images.filter((i) => i.stale).length;
  const sec = (ms: number | undefined) => (ms === undefined ? undefined : ms / 1000);
  const body = html`<h1>Images</h1>
    <section class="stats">
      <div id="image-count">
        <span class="figure">${entries.length}</span> images${
          variantCount > 0
            ? html` <span class="muted"
                >+ ${variantCount} variant${variantCount === 1 ? '' : 's'}</span
              >`
            : ''
        }
      </div>
      <div>
        <span class="figure">${formatDuration(sec(freshness.medianMs))}</span> median freshness
      </div>
      <div><span class="figure">${formatDuration(sec(freshness.p95Ms))}</span> p95 freshness</div>
      <div id="time-to-fix-median">
        <span class="figure">${formatDuration(sec(timeToFix?.medianMs))}</span> median time to fix
      </div>
      <div id="time-to-fix-p95">
        <span class="figure">${formatDuration(sec(timeToFix?.p95Ms))}</span> p95 time to fix
      </div>
      <div id="fixable-total">
        <span class="figure">${images.reduce((n, i) => n + (i.cves?.fixable ?? 0), 0)}</span>
        fixable CVEs
      </div>
      <div><span class="figure">${stale}</span> stale</div>
    </section>
    ${
      images.length === 0
        ? html`<p class="empty">Nothing published yet.</p>`
        : html`<table class="images">
            <thead>
              <tr>
                <th>Image</th>
                <th>Latest</th>
                <th>Tags</th>
                <th>Last build</th>
                <th>Freshness</th>
                <th>Size per arch</th>
                <th>Signature</th>
                <th>SBOM</th>
                <th>CVEs</th>
              </tr>
            </thead>
            ${entries.map(entry)}
          </table>`
    }
    <p class="muted">
      Freshness: time from the upstream release to the signed image being tagged. For a Debian
      package the release is the first InRelease kiln saw listing the version; “≥” marks a release
      whose time is unknown (kiln's first look already listed it), counted from when kiln first saw
      it. Time to fix: from a CVE fix first found in one of an image's Debian suites (the
      vulnerability feed) to the signed image without the CVE being tagged. CVEs: the last scan of
      each latest release against the feed; fixable ones have a fix in the image's suites. A variant
      (such as <code>-dev</code>: a shell and basic tools, runs as root) sits under its image, with
      its own tags, digest, size, freshness and CVEs.
    </p>`;
  return layout('kiln image catalog', body);
}
