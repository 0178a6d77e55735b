/*
 * Versions and tags come from the internet and end up in image tags, file paths, job ids and
 * build arguments. Only a small, boring alphabet is let through.
 */

/**
 * Longest version accepted. OCI tags stop at 128 characters and kiln appends `-rN` to the exact
 * tag, so versions keep 8 characters of room.
 */
export const maxVersionLength = 120;

const safeShape = /^[A-Za-z0-9][A-Za-z0-9._+~:-]*$/;

/** Why a version or tag string is refused, or undefined when it is safe to use. */
export function unsafeVersionReason(value: string): string | undefined {
  if (value.length === 0) return 'is empty';
  if (value.length > maxVersionLength) return `is longer than ${maxVersionLength} characters`;
  if (/\s/.test(value)) return 'contains whitespace';
  if (value.includes('/')) return 'contains `/`';
  if (value.includes('..')) return 'contains `..`';
  if (!safeShape.test(value))
    return 'contains characters outside [A-Za-z0-9._+~:-] or starts with a symbol';
  return undefined;
}

export function isSafeVersion(value: string): boolean {
  return unsafeVersionReason(value) === undefined;
}

/**
 * Upstream tags may name a path (`tools/v0.3.0`, Go's `gopls/v0.16.0`); they never reach a file
 * name or a command line, only the version extracted from them does. Still refused: traversal,
 * whitespace, shell metacharacters, absurd lengths.
 */
export function unsafeTagReason(tag: string): string | undefined {
  if (tag.length > 2 * maxVersionLength) return `is longer than ${2 * maxVersionLength} characters`;
  if (/\s/.test(tag)) return 'contains whitespace';
  if (tag.includes('..')) return 'contains `..`';
  if (!/^[A-Za-z0-9._+~:@-]+(\/[A-Za-z0-9._+~:@-]+)*$/.test(tag))
    return 'contains characters outside [A-Za-z0-9._+~:@-/]';
  return undefined;
}
