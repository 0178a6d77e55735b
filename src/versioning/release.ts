/**
 * One upstream release as the versioning rules need it. Structurally the same as the release a
 * source in src/upstream produces, so their results pass straight in.
 */
export interface UpstreamRelease {
  /** Version candidate the source derived from the tag (leading `v` removed). */
  version: string;
  /** The upstream's own name for the release: git tag, npm version, image tag. */
  tag: string;
  /** ISO 8601 time of publication, when the upstream says. */
  publishedAt?: string | undefined;
  /** `archive` (a Debian InRelease's Date) or `first-seen` (release time unknown); unset: the upstream's own. */
  publishedAtSource?: 'archive' | 'first-seen' | undefined;
  /** The upstream marked it as a prerelease (e.g. GitHub's flag). */
  prerelease: boolean;
  url?: string | undefined;
  /** Artifact checksums the upstream publishes. */
  checksums?: Record<string, string> | undefined;
}
