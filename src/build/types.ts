import type { Logger } from '../log.ts';
import type { Descriptor } from '../oci/media-types.ts';
import type { BuildMaterial, BuildPackage, TestOutcome } from '../model/build-result.ts';
import type { Resolved, ResolvedArch } from '../model/resolved.ts';
import type { Recipe } from '../recipe/schema.ts';

/** What a builder is asked to make. */
export interface BuildInput {
  recipe: Recipe;
  /** Absolute path of the recipe file: patches, Dockerfiles and contexts are relative to it. */
  recipeFile: string;
  version: string;
  epoch: number;
  archs: string[];
  inputsDigest: string;
  /** A private folder for this build; the builder writes its OCI layout under it. */
  workDir: string;
  /** Fired on cancellation or timeout: stop work, kill children. */
  signal: AbortSignal;
  timeoutMs: number;
  sourceDateEpoch: number;
  log: Logger;
  /** Stage names and rough percentages for `kiln status` and `kiln build`. */
  onProgress?: (progress: { stage: string; percent?: number; detail?: string }) => void;
  /**
   * What {@link Builder.resolve} answered, per arch (`{ amd64: …, arm64: … }`), to build exactly
   * those inputs (the builder parses its own shape, `src/build/<id>/resolved.ts`); absent means
   * "resolve now".
   */
  resolved?: Resolved | undefined;
  /** Each output line of the build's tools, for the job's log (BullMQ `job.log`). */
  onLogLine?: (line: string) => void;
  /** Annotations every image carries (source, version, inputs digest…). */
  annotations: Record<string, string>;
}

export interface ArchOutput {
  arch: string;
  manifest: Descriptor;
  packages: BuildPackage[];
  tests: TestOutcome[];
  lockfileDigest?: string;
}

/** What a builder hands to publish: an OCI image layout and what went into it. */
export interface BuildOutput {
  layoutDir: string;
  /** The index over the arch manifests, also the layout's root. */
  index: Descriptor;
  archs: ArchOutput[];
  materials: BuildMaterial[];
}

/** A builder: turns a recipe at a version into an OCI image layout. */
export interface Builder {
  readonly id: string;
  /** Goes into the inputs digest: a new builder version means new bytes. */
  readonly version: string;
  /**
   * Resolves what the build will consume (a Debian lockfile, the base image digest) without
   * building; its result goes into the inputs digest and back into {@link BuildInput.resolved}.
   */
  resolve?(
    recipe: Recipe,
    recipeFile: string,
    version: string,
    arch: string,
    signal: AbortSignal,
  ): Promise<ResolvedArch>;
  build(input: BuildInput): Promise<BuildOutput>;
}
