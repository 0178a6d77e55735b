import type { Descriptor } from '../oci/media-types.ts';

/* What one arch's build job made: its manifest already pushed by digest, untagged, and what went into it. */

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
  /** The source package's version (`Source: name (version)`), when the builder knows it. */
  sourceVersion?: string;
  supplier?: string;
  downloadLocation?: string;
  /**
   * Paths of the package the image does not hold because the recipe removed them (the debian
   * builder's `build.contents.drop`), where they would land, sorted; absent when none.
   */
  droppedPaths?: string[];
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
