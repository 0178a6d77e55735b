import type { Resolved } from './resolved.ts';

/*
 * What a planner (or `kiln build`) asks for: one image of one recipe at one version and epoch.
 * Plain JSON: BullMQ stores it in Redis as the payload of the build and publish jobs.
 */

/** How urgent a rebuild is; BullMQ runs lower numbers first. */
export const Priority = { security: 1, upstream: 5, routine: 10 } as const;
export type PriorityName = keyof typeof Priority;

export interface BuildRequest {
  /** Recipe name. */
  recipe: string;
  /** Path of the recipe file, as the planner read it. */
  recipeFile: string;
  /** Normalised upstream version, e.g. `3.12.7`. */
  version: string;
  /** Nano-update counter for this version: the `N` of `-rN`. */
  epoch: number;
  /** `sha256:…` of everything that decides the image's bytes. */
  inputsDigest: string;
  /** Debian arch names, one build job each. */
  archs: string[];
  /** The stream this version belongs to (its line of floating tags). */
  stream: string;
  /** Tags to set once the image is signed, exact version tag first. */
  tags: string[];
  /** The recipe's version scheme: how publish orders versions before moving a floating tag (default `loose`). */
  versionScheme?: 'semver' | 'loose' | 'debian';
  /** Repository, relative to KILN_REGISTRY. */
  repository: string;
  priority: PriorityName;
  /** Why this build was requested, for people: "new upstream 3.12.7", "openssl 3.0.15 (security)". */
  reason: string;
  upstream: {
    tag?: string;
    url?: string;
    releasedAt?: string;
    /** `first-seen`: releasedAt is when kiln first saw the version; `archive`: a Debian InRelease's Date. */
    releasedAtSource?: 'archive' | 'first-seen';
  };
  /** What the recipe's builder resolved, per arch (e.g. the Debian lockfile): see resolved.ts. */
  resolved?: Resolved | undefined;
  requestedAt: string;
}
