import { PermanentError } from '../errors.ts';
import type { FetchResult, RejectedRelease, Release } from './types.ts';

/** Characters allowed in a version candidate: semver, PEP 440, Debian (`:` `~` `+`). No `/`. */
const safeVersion = /^[A-Za-z0-9][A-Za-z0-9._+~:-]*$/;
/** Git-ref-like tag: segments of safe characters separated by single `/`. */
const safeTag = /^[A-Za-z0-9._+~:@-]+(\/[A-Za-z0-9._+~:@-]+)*$/;
const maxLength = 128;

export interface RawRelease {
  tag: string;
  /** Defaults to the tag's last path segment without a leading `v`. */
  version?: string;
  publishedAt?: string | null | undefined;
  prerelease?: boolean;
  url?: string | null | undefined;
  checksums?: Record<string, string>;
}

/** The version candidate of a tag: `v1.2.3` → `1.2.3`, `tools/v0.3.0` → `0.3.0`. */
export function versionOfTag(tag: string): string {
  const last = tag.slice(tag.lastIndexOf('/') + 1);
  return /^[vV]\d/.test(last) ? last.slice(1) : last;
}

/** Why a version or tag is refused, or undefined when it is usable. */
export function refusal(tag: string, version: string): string | undefined {
  if (tag.length > maxLength) return `tag longer than ${maxLength} characters`;
  if (tag.includes('..')) return `tag ${JSON.stringify(tag)} has a path traversal (..)`;
  if (!safeTag.test(tag))
    return `tag ${JSON.stringify(tag)} has shell metacharacters or other characters outside [A-Za-z0-9._+~:@-/]`;
  if (version.length === 0) return 'empty version';
  if (version.length > maxLength) return `version longer than ${maxLength} characters`;
  if (version.includes('..') || version.includes('/') || version.includes('\\'))
    return `version ${JSON.stringify(version)} has a path separator or traversal`;
  if (!safeVersion.test(version))
    return `version ${JSON.stringify(version)} has shell metacharacters, path separators or other unsafe characters`;
  if (!/\d/.test(version)) return `version ${JSON.stringify(version)} has no digit`;
  return undefined;
}

/**
 * Turns raw upstream entries into releases, refusing unsafe ones. When there were entries but
 * none is usable, that is an error a person must see (the source changed its naming, or lies).
 */
export function toFetchResult(what: string, raws: RawRelease[], unchanged = false): FetchResult {
  const releases: Release[] = [];
  const rejected: RejectedRelease[] = [];
  for (const raw of raws) {
    const version = raw.version ?? versionOfTag(raw.tag);
    const reason = refusal(raw.tag, version);
    if (reason) {
      rejected.push({ tag: raw.tag.slice(0, maxLength), reason });
      continue;
    }
    const publishedAt =
      raw.publishedAt && !Number.isNaN(Date.parse(raw.publishedAt))
        ? new Date(raw.publishedAt).toISOString()
        : undefined;
    releases.push({
      version,
      tag: raw.tag,
      publishedAt,
      prerelease: raw.prerelease ?? false,
      url: raw.url ?? undefined,
      ...(raw.checksums && Object.keys(raw.checksums).length > 0
        ? { checksums: raw.checksums }
        : {}),
    });
  }
  if (releases.length === 0 && rejected.length > 0) {
    throw new PermanentError(
      `${what}: no usable version among ${rejected.length} release(s); first refused: ${rejected[0]?.tag}: ${rejected[0]?.reason}`,
    );
  }
  return { releases, unchanged, rejected };
}
