import { schemeOf, type SchemeId } from '../versioning/scheme.ts';

export interface TagInput {
  /** Normalised version being published. */
  version: string;
  epoch: number;
  scheme: SchemeId;
  /**
   * Versions of this recipe already published or planned in this cycle, in any stream. A
   * floating tag never moves to a version below one of these that shares it.
   */
  known: readonly string[];
  /** Whether this version's stream is the recipe's highest: only that stream moves `latest`. */
  highestStream: boolean;
  /** `semver`: exact, floating and `latest`; `exact`: only `X.Y.Z-rN` and `X.Y.Z`. */
  policy: 'semver' | 'exact';
  /** A variant's suffix (`-dev`), appended to every tag; none for the main image. */
  suffix?: string | undefined;
}

/** A version as an OCI tag: characters outside `[A-Za-z0-9_.-]` (Debian's `:`, `~`, `+`) become `_`. */
export function tagText(version: string): string {
  return version.replace(/[^A-Za-z0-9_.-]/g, '_');
}

/**
 * Tags for one published image, exact first: `X.Y.Z-rN`, `X.Y.Z`, then the floating prefixes
 * (`X.Y`, `X`; for four-part versions `X.Y.Z` too) and `latest`. Floating tags only move
 * forward: a prefix is tagged only if no known non-prerelease version sharing it is higher, so
 * a backport `1.1.9` after `1.2.0` moves `1.1` but neither `1` nor `latest`. Prereleases get
 * only their exact tags. A variant's tags are the same with its suffix: `1.2.3-r0-dev`, `latest-dev`.
 */
export function computeTags(input: TagInput): string[] {
  const suffix = input.suffix ?? '';
  return mainTags(input).map((tag) => `${tag}${suffix}`);
}

function mainTags(input: TagInput): string[] {
  const scheme = schemeOf(input.scheme);
  const exact = tagText(input.version);
  const tags = [`${exact}-r${input.epoch}`, exact];
  if (input.policy === 'exact' || scheme.isPrerelease(input.version)) return tags;

  const mine = scheme.components(input.version);
  const texts = scheme.componentText(input.version);
  const others = input.known.filter(
    (k) => k !== input.version && scheme.normalize(k) !== undefined && !scheme.isPrerelease(k),
  );
  const higher = others
    .filter((k) => scheme.compare(k, input.version) > 0)
    .map((k) => scheme.components(k));

  for (let n = texts.length; n >= 1; n--) {
    const tag = texts.slice(0, n).join('.');
    if (tag === exact || tags.includes(tag)) continue;
    const overtaken = higher.some((h) => sharesPrefix(h, mine, n));
    if (!overtaken) tags.push(tag);
  }
  if (input.highestStream && higher.length === 0) tags.push('latest');
  return tags;
}

function sharesPrefix(a: readonly number[], b: readonly number[], n: number): boolean {
  for (let i = 0; i < n; i++) if ((a[i] ?? 0) !== (b[i] ?? 0)) return false;
  return true;
}

/** `yyyymmddhhmm` of a time, in UTC: the stamp of a build tag. */
export function buildStamp(at: Date): string {
  return at.toISOString().slice(0, 16).replace(/[-T:]/g, '');
}

/**
 * The immutable build tag of one publish: `X.Y.Z-rN-<yyyymmddhhmm>` (UTC) and a variant's
 * suffix after it (`X.Y.Z-rN-<yyyymmddhhmm>-dev`), as renovate/kiln.json expects.
 */
export function buildTag(version: string, epoch: number, at: Date, suffix = ''): string {
  return `${tagText(version)}-r${epoch}-${buildStamp(at)}${suffix}`;
}

/** Whether `tag` is a build tag of this version and epoch (any time), with this suffix. */
export function isBuildTagOf(tag: string, version: string, epoch: number, suffix = ''): boolean {
  const head = `${tagText(version)}-r${epoch}-`;
  if (!tag.startsWith(head) || !tag.endsWith(suffix)) return false;
  return /^\d{12}$/.test(tag.slice(head.length, tag.length - suffix.length));
}

/** Whether a tag has the shape of any build tag (`…-rN-<12 digits>`, a variant suffix after). */
export function looksLikeBuildTag(tag: string): boolean {
  return /-r\d+-\d{12}(-[a-z][a-z0-9]*)?$/.test(tag);
}
