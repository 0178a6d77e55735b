import type { Lockfile } from '../debian/lockfile.ts';

/*
 * What a builder resolves before it builds (`Builder.resolve`), per arch: it goes into the inputs
 * digest, rides in the BuildRequest through Redis, and is handed back to the build so it builds
 * exactly those inputs. Each builder's zod schema for it lives in its own folder
 * (src/build/<builder>/resolved.ts). The JSON carries no builder field: it feeds the inputs
 * digest, whose bytes must not change; the recipe's `build.builder` says which shape it is.
 */

/** The `debian` builder, one arch: the lockfile it builds from. */
export interface DebianResolved {
  arch: string;
  lockfile: Lockfile;
  /**
   * `sha256:…` of the lockfile: the inputs digest takes it instead of the whole lockfile.
   * `resolve()` always sets it; a request that carries only the lockfile still builds.
   */
  lockfileDigest?: string;
}

/** The `dockerfile` builder, the same for every arch (the bases' digests name indexes). */
export interface DockerfileResolved {
  /** Whether the RUN steps have the network (`build.dockerfile.network`). */
  network: boolean;
  /** FROM name → digest of the kiln-built base it is copied from. */
  bases: Record<string, string>;
}

/** Each builder's resolved inputs for one arch, by builder id; `apko` resolves nothing. */
export interface ResolvedByBuilder {
  debian: DebianResolved;
  dockerfile: DockerfileResolved;
}

/** The ids of the builders that resolve their inputs before building. */
export type ResolvingBuilder = keyof ResolvedByBuilder;

/** One arch's resolved inputs, of whichever builder. */
export type ResolvedArch = ResolvedByBuilder[ResolvingBuilder];

/** What one recipe's builder resolved, per arch (`{ amd64: …, arm64: … }`). */
export type Resolved = Readonly<Record<string, ResolvedArch>>;
