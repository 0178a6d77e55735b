import type { UpstreamRelease } from './release.ts';
import { unsafeTagReason, unsafeVersionReason } from './safe-version.ts';

/**
 * How a version is read from an upstream tag, in the spirit of melange's `update` block and
 * Renovate's `extractVersion`. The recipe's `upstream` block satisfies this shape.
 */
export interface ExtractionOptions {
  'strip-prefix'?: string | undefined;
  'strip-suffix'?: string | undefined;
  'tag-filter-prefix'?: string | undefined;
  'tag-filter-contains'?: string | undefined;
  'ignore-regex-patterns'?: string[] | undefined;
  'version-transform'?: { match: string; replace: string }[] | undefined;
  'extract-version'?: string | undefined;
}

export type Extracted = { ok: true; version: string } | { ok: false; reason: string };

/** Compiled form of the options: regexes built once per upstream, not once per tag. */
export interface Extractor {
  (release: UpstreamRelease): Extracted;
}

/**
 * Builds the extractor. Order: refuse hostile tags, filter on the tag (prefix, contains, ignore
 * patterns), then strip prefix and suffix, `extract-version`, and the transforms. Without any
 * rewriting option the source's own version (tag minus a leading `v`) is the starting point.
 * Throws on an invalid regex (lint reports those with their position before this runs).
 */
export function compileExtractor(options: ExtractionOptions = {}): Extractor {
  const ignore = (options['ignore-regex-patterns'] ?? []).map((p) => new RegExp(p));
  const extract =
    options['extract-version'] !== undefined ? new RegExp(options['extract-version']) : undefined;
  const transforms = (options['version-transform'] ?? []).map((t) => ({
    match: new RegExp(t.match, 'g'),
    replace: t.replace,
  }));
  const rewrites =
    options['strip-prefix'] !== undefined ||
    options['strip-suffix'] !== undefined ||
    extract !== undefined ||
    transforms.length > 0;
  const prefix = options['tag-filter-prefix'];
  const contains = options['tag-filter-contains'];

  return (release) => {
    const tag = release.tag;
    const bad = unsafeTagReason(tag);
    if (bad) return { ok: false, reason: `tag ${bad}` };
    if (prefix !== undefined && !tag.startsWith(prefix))
      return { ok: false, reason: `tag does not start with ${JSON.stringify(prefix)}` };
    if (contains !== undefined && !tag.includes(contains))
      return { ok: false, reason: `tag does not contain ${JSON.stringify(contains)}` };
    const ignored = ignore.find((re) => re.test(tag));
    if (ignored) return { ok: false, reason: `tag matches ignore pattern ${ignored.source}` };

    let version = rewrites ? tag : release.version;
    const stripPrefix = options['strip-prefix'];
    if (stripPrefix && version.startsWith(stripPrefix)) version = version.slice(stripPrefix.length);
    const stripSuffix = options['strip-suffix'];
    if (stripSuffix && version.endsWith(stripSuffix))
      version = version.slice(0, -stripSuffix.length);
    if (extract) {
      const group = extract.exec(version)?.groups?.['version'];
      if (group === undefined)
        return { ok: false, reason: `tag does not match extract-version ${extract.source}` };
      version = group;
    }
    for (const t of transforms) version = version.replace(t.match, t.replace);
    const unsafe = unsafeVersionReason(version);
    if (unsafe)
      return { ok: false, reason: `version ${JSON.stringify(version.slice(0, 40))} ${unsafe}` };
    return { ok: true, version };
  };
}
