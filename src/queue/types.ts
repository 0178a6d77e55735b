import type { Descriptor } from '../oci/media-types.ts';

/*
 * The contracts between pipeline stages. A planner (or `kiln build`) makes a BuildRequest; each
 * arch's build job turns it into a BuildResult (its manifest already pushed by digest, untagged);
 * the publish job assembles the index, signs, attests and moves tags: a PublishResult.
 * Everything here is JSON: BullMQ stores it in Redis.
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
  /** Builder-specific resolved inputs (e.g. a Debian lockfile digest per arch). */
  resolved?: Record<string, unknown>;
  requestedAt: string;
}

export interface BuildJobData {
  request: BuildRequest;
  arch: string;
}

/** One package that went into an image: what the SBOM lists. */
export interface BuildPackage {
  name: string;
  version: string;
  /** Package URL, e.g. `pkg:deb/debian/libc6@2.36-9?arch=amd64`. */
  purl: string;
  arch?: string;
  /** SPDX license expression where the package states one. */
  license?: string;
  /** `sha256:…` of the package file. */
  digest?: string;
  sourcePackage?: string;
  supplier?: string;
  downloadLocation?: string;
}

/** An artifact the build consumed, for provenance `resolvedDependencies`. */
export interface BuildMaterial {
  uri: string;
  digest: Record<string, string>;
  name?: string;
}

export interface TestOutcome {
  name: string;
  status: 'passed' | 'failed' | 'skipped';
  note?: string;
}

export interface BuildResult {
  arch: string;
  /** The arch's manifest, pushed by digest to the repository, platform set. */
  manifest: Descriptor;
  /** Compressed size of config and layers. */
  size: number;
  packages: BuildPackage[];
  materials: BuildMaterial[];
  tests: TestOutcome[];
  /** `sha256:…` of the lockfile, if the builder writes one. */
  lockfileDigest?: string;
  builder: { id: string; version: string };
  startedAt: string;
  finishedAt: string;
}

export interface PublishJobData {
  request: BuildRequest;
}

export interface PublishResult {
  recipe: string;
  version: string;
  repository: string;
  /** `sha256:…` of the image index. */
  digest: string;
  tags: string[];
  signed: boolean;
  attestations: string[];
  /** Whether anything was pushed (false: the registry already had this exact image). */
  changed: boolean;
  publishedAt: string;
}
