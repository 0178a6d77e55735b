/*
 * The Debian source reads signed archive indices, not JSON: InRelease is verified and Packages is
 * parsed by src/debian (release.ts, packages.ts), which checks every field it uses. This file only
 * names the recipe reference format.
 */

/** `suite[,suite…]/package`, the reference the watcher uses for a Debian upstream. */
export const debianRefPattern =
  /^([a-z0-9][a-z0-9.-]*(?:\/updates)?(?:,[a-z0-9][a-z0-9.-]*(?:\/updates)?)*)\/([a-z0-9][a-z0-9+.-]+)$/;

/** The suites of a recipe's Debian upstream, one or several. */
export function suitesOf(suite: string | readonly string[]): string[] {
  return typeof suite === 'string' ? [suite] : [...suite];
}
