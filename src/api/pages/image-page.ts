import type { TagEvent } from '../../catalog/record.ts';
import type { FamilyMemberView, ImageDetailView } from '../image-view.ts';
import { freshness, yesNo } from './catalog-page.ts';
import { formatBytes, formatDuration, formatTime, shortDigest } from './format.ts';
import { cell, html, safeHref, type Html } from './html.ts';
import { layout } from './layout.ts';
import { cveCounts, fixableList, fixNotes } from './cves.ts';

function link(url: string | null, text: string): Html {
  const href = safeHref(url);
  return href ? html`<a href="${href}" rel="noopener nofollow">${text}</a>` : html`${text}`;
}

function command(label: string, text: string, id: string): Html {
  return html`<div class="cmd">
    <div class="muted">${label}</div>
    <pre id="${id}"><code>${text}</code></pre>
  </div>`;
}

/** The latest version: its reference, digest, tags, upstream release, freshness, signature, SBOM. */
function latestSection(image: ImageDetailView): Html {
  return html`<section>
    <h2>Latest: <code class="version">${image.versionTag}</code></h2>
    <dl class="facts">
      <dt>Reference</dt>
      <dd><code>${image.reference}</code></dd>
      <dt>Index digest</dt>
      <dd><code class="digest" id="latest-digest">${image.digest}</code></dd>
      <dt>Tags</dt>
      <dd id="latest-tags">${image.tags.map((t) => html`<code class="tag">${t}</code> `)}</dd>
      <dt>Build tag</dt>
      <dd>
        ${image.buildTag ? html`<code class="build-tag" id="latest-build-tag">${image.buildTag}</code> <span class="muted">(never moves)</span>` : '—'}
      </dd>
      <dt>Upstream release</dt>
      <dd>
        ${image.upstream.releasedAtSource === 'first-seen' ? html`<span id="release-time-unknown">unknown: first seen ${formatTime(image.upstream.releasedAt)}</span>` : formatTime(image.upstream.releasedAt)}${image.upstream.releasedAtSource === 'archive' ? html` <span class="muted">(Debian InRelease date)</span>` : ''}
        ${image.upstream.url ? link(image.upstream.url, 'release notes') : ''}
      </dd>
      <dt>Published</dt>
      <dd>${formatTime(image.publishedAt)}</dd>
      <dt>Freshness</dt>
      <dd>
        ${freshness(image.freshnessSeconds, image.upstream.releasedAtSource)}${image.stale ? html` <span class="badge bad">stale: upstream ${image.pendingUpstream?.version ?? ''} waiting ${formatDuration(image.pendingUpstream?.waitingSeconds)}</span>` : ''}
      </dd>
      <dt>Signature</dt>
      <dd>${yesNo(image.signed, 'signed', 'unsigned')}</dd>
      <dt>SBOM</dt>
      <dd>${yesNo(image.sbom, 'SPDX attached', 'none')} (${image.packages.length} packages)</dd>
      <dt>CVEs</dt>
      <dd id="latest-cves">${cveCounts(image.cves)} ${fixableList(image.cves)}</dd>
    </dl>
  </section>`;
}

/** Commands that pull the image by digest and verify it. */
function pullSection(image: ImageDetailView): Html {
  return html`<section>
    <h2>Pull and verify</h2>
    ${command('Pull by digest', image.commands.pull, 'cmd-pull')}
    ${image.commands.pullByBuildTag ? command('Pull this build by its tag (never moves)', image.commands.pullByBuildTag, 'cmd-pull-build') : ''}
    ${command('Pull by tag (follows new releases)', image.commands.pullByTag, 'cmd-pull-tag')}
    ${command('Verify signature, SBOM and provenance with kiln', image.commands.kilnVerify, 'cmd-kiln-verify')}
    ${command('Verify the signature with cosign', image.commands.cosignVerify, 'cmd-cosign-verify')}
  </section>`;
}

/** Each architecture's manifest digest and size. */
function archsSection(image: ImageDetailView): Html {
  return html`<section>
    <h2>Architectures</h2>
    <table class="archs">
      <thead>
        <tr>
          <th>Arch</th>
          <th>Manifest digest</th>
          <th>Size</th>
        </tr>
      </thead>
      <tbody>
        ${image.archs.map(
          (a) =>
            html`<tr>
              <td data-label="Arch"><div>${a.arch}</div></td>
              <td data-label="Digest">
                <div><code class="digest">${a.digest}</code></div>
              </td>
              <td data-label="Size"><div>${formatBytes(a.size)}</div></td>
            </tr>`,
        )}
      </tbody>
    </table>
  </section>`;
}

/** What the image was built from, and its attestations. */
function provenanceSection(image: ImageDetailView): Html {
  return html`<section>
    <h2>Provenance</h2>
    <dl class="facts">
      <dt>Inputs digest</dt>
      <dd><code class="digest">${image.inputsDigest}</code></dd>
      <dt>Built</dt>
      <dd>${formatTime(image.builtAt)} in ${formatDuration(image.buildDurationSeconds)}</dd>
      <dt>Attestations</dt>
      <dd>
        ${image.attestations.length ? image.attestations.map((a) => html`<code>${a}</code><br />`) : 'none'}
      </dd>
      <dt>Upstream</dt>
      <dd>${image.upstream.url ? link(image.upstream.url, image.upstream.url) : '—'}</dd>
    </dl>
  </section>`;
}

/** Every published version, newest first. */
function versionsSection(image: ImageDetailView): Html {
  return html`<section>
    <h2>Versions</h2>
    <table class="versions">
      <thead>
        <tr>
          <th>Version</th>
          <th>Index digest</th>
          <th>Upstream release</th>
          <th>Published</th>
          <th>Signature</th>
          <th>Fixes</th>
          <th>What changed</th>
        </tr>
      </thead>
      <tbody>
        ${image.versions.map(
          (v, i) =>
            html`<tr>
              ${cell('Version', html`<code class="version">${v.versionTag}</code>${v.buildTag ? html`<br /><code class="build-tag" title="build tag: never moves">${v.buildTag}</code>` : ''}`)}${cell('Digest', html`<code class="digest" title="${v.digest}">${shortDigest(v.digest)}</code>`)}${cell('Upstream', v.upstream.releasedAtSource === 'first-seen' ? html`unknown: first seen ${formatTime(v.upstream.releasedAt)}` : formatTime(v.upstream.releasedAt))}${cell('Published', formatTime(v.publishedAt))}${cell('Signature', yesNo(v.signed, 'signed', 'unsigned'))}${cell('Fixes', fixNotes(v))}${cell('What changed', diffCommand(image, i))}
            </tr>`,
        )}
      </tbody>
    </table>
  </section>`;
}

/**
 * For a nano update (an epoch after another of the same version, the next older row), the
 * `kiln diff` to run between the two images, by digest: a consumer pinned to the older build sees
 * what the update changed.
 */
function diffCommand(image: ImageDetailView, i: number): Html {
  const v = image.versions[i];
  const older = image.versions[i + 1];
  if (!v || !older || older.version !== v.version || older.epoch >= v.epoch) return html`—`;
  const text = `kiln diff ${image.reference}@${older.digest} ${image.reference}@${v.digest}`;
  return html`<code class="cmd" title="r${older.epoch} → r${v.epoch}">${text}</code>`;
}

/** Where each tag has pointed, as it moved. */
function historySection(history: readonly TagEvent[]): Html {
  return html`<section>
    <h2>Tag history</h2>
    <table class="history">
      <thead>
        <tr>
          <th>Tag</th>
          <th>Version</th>
          <th>Digest</th>
          <th>Moved</th>
        </tr>
      </thead>
      <tbody>
        ${history.map(
          (e) =>
            html`<tr>
              <td data-label="Tag">
                <div><code class="tag">${e.tag}</code></div>
              </td>
              <td data-label="Version"><div>${e.version}-r${e.epoch}</div></td>
              <td data-label="Digest">
                <div>
                  <code class="digest" title="${e.digest}">${shortDigest(e.digest)}</code>
                </div>
              </td>
              <td data-label="Moved"><div>${formatTime(e.at)}</div></td>
            </tr>`,
        )}
      </tbody>
    </table>
  </section>`;
}

/** The packages in the image, from its SBOM. */
function packagesSection(image: ImageDetailView): Html {
  return html`<section>
    <h2>Packages (from the SBOM)</h2>
    <table class="packages">
      <thead>
        <tr>
          <th>Package</th>
          <th>Version</th>
          <th>License</th>
          <th>Package URL</th>
        </tr>
      </thead>
      <tbody>
        ${image.packages.map(
          (p) =>
            html`<tr>
              <td data-label="Package"><div>${p.name}</div></td>
              <td data-label="Version"><div>${p.version}</div></td>
              <td data-label="License"><div>${p.license ?? '—'}</div></td>
              <td data-label="purl">
                <div><code class="purl">${p.purl}</code></div>
              </td>
            </tr>`,
        )}
      </tbody>
    </table>
  </section>`;
}

/** One member of an image's family: its version, tags, digest, sizes, freshness, CVEs and pulls. */
function memberRow(m: FamilyMemberView, current: string): Html {
  const label = m.variant ? `-${m.variant} variant` : 'image';
  const name =
    m.name === current
      ? html`<strong>${m.name}</strong> <span class="muted">${label}</span>`
      : html`<a href="/images/${encodeURIComponent(m.name)}">${m.name}</a>
          <span class="muted">${label}</span>`;
  const version = html`<code class="version">${m.versionTag}</code
    >${m.buildTag ? html`<br /><code class="build-tag">${m.buildTag}</code>` : ''}`;
  const pulls = html`<code class="cmd pull-tag">${m.commands.pullByTag}</code><br /><code
      class="cmd pull-digest"
      >${m.commands.pull}</code
    >`;
  return html`<tr data-image="${m.name}" data-variant="${m.variant ?? ''}">
    ${cell('Image', name)}${cell('Version', version)}${cell(
      'Tags',
      m.tags.map((t) => html`<code class="tag">${t}</code> `),
    )}${cell('Digest', html`<code class="digest" title="${m.digest}">${shortDigest(m.digest)}</code>`)}${cell(
      'Size',
      m.archs.map((a) => html`<span class="arch">${a.arch} ${formatBytes(a.size)}</span> `),
    )}${cell('Freshness', freshness(m.freshnessSeconds, m.upstreamReleasedAtSource))}${cell(
      'CVEs',
      cveCounts(m.cves),
    )}${cell('Pull', pulls)}
  </tr>`;
}

/**
 * The image and its variants side by side (on a variant's page: its main image and the other
 * variants): each one's tags, digest, sizes, freshness, CVEs and how to pull it.
 */
function variantsSection(image: ImageDetailView): Html {
  const others = image.variantOf ? image.family : image.variants;
  if (others.length === 0) return html``;
  const self: FamilyMemberView = image;
  const rows = image.variantOf
    ? [others[0], self, ...others.slice(1)].filter((m) => m !== undefined)
    : [self, ...others];
  return html`<section id="variants">
    <h2>Variants</h2>
    <table class="variants">
      <thead>
        <tr>
          <th>Image</th>
          <th>Version and build tag</th>
          <th>Tags</th>
          <th>Index digest</th>
          <th>Size per arch</th>
          <th>Freshness</th>
          <th>CVEs</th>
          <th>Pull</th>
        </tr>
      </thead>
      <tbody>
        ${rows.map((m) => memberRow(m, image.name))}
      </tbody>
    </table>
  </section>`;
}

/** One image: how to pull and verify it, where each tag points and has pointed, and what is inside. */
export function imagePage(image: ImageDetailView, history: readonly TagEvent[]): Html {
  const body = html`<p><a href="/">← all images</a></p>
    <h1>${image.name}</h1>
    ${image.variantOf ? html`<p class="variant-of">The <code>-${image.variant ?? ''}</code> variant of <a href="/images/${encodeURIComponent(image.variantOf)}">${image.variantOf}</a></p>` : ''}
    <p class="desc">${image.description ?? ''}</p>
    <p class="muted">
      ${image.homepage ? link(image.homepage, image.homepage) : ''}${image.license ? html` · license ${image.license}` : ''}
    </p>

    ${latestSection(image)} ${variantsSection(image)} ${pullSection(image)} ${archsSection(image)}
    ${provenanceSection(image)} ${versionsSection(image)} ${historySection(history)}
    ${packagesSection(image)}`;
  return layout(`${image.name} ${image.versionTag} · kiln`, body);
}
