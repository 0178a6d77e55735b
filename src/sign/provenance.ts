import type { BuildRequest } from '../model/build-request.ts';
import type { BuildResult } from '../model/build-result.ts';
import type { ResourceDescriptor } from './in-toto.ts';

/** The build type kiln's provenance declares: how to read its parameters. */
export const kilnBuildType = 'https://kiln.dev/buildtypes/image/v1';

/** SLSA Provenance v1 predicate (https://slsa.dev/spec/v1.0/provenance), only what kiln fills. */
export interface SlsaProvenance {
  buildDefinition: {
    buildType: string;
    externalParameters: {
      recipe: { name: string; file: string };
      version: string;
      epoch: number;
      stream: string;
      archs: string[];
      upstream: BuildRequest['upstream'];
    };
    internalParameters: {
      inputsDigest: string;
      reason: string;
      builders: Record<string, string>;
      /** A nano update's changed packages and the CVEs their new changelogs name (epoch > 0). */
      fixes?: ProvenanceFix[];
    };
    resolvedDependencies: ResourceDescriptor[];
  };
  runDetails: {
    builder: { id: string; version?: Record<string, string> };
    metadata: { invocationId: string; startedOn: string; finishedOn: string };
    byproducts?: (ResourceDescriptor & { mediaType?: string })[];
  };
}

/** One package a nano update changed: `openssl 3.5.4-1~deb13u1 → 3.5.4-1~deb13u2 fixes CVE-…`. */
export interface ProvenanceFix {
  package: string;
  from: string;
  to: string;
  cves: string[];
  /** False when the new .deb held no changelog: the CVEs are unknown, not none. */
  changelogFound: boolean;
}

export interface ProvenanceInput {
  request: BuildRequest;
  archResults: BuildResult[];
  /** What a nano update fixed (src/vuln/publish-fixes.ts); left out at -r0. */
  fixes?: readonly ProvenanceFix[] | undefined;
  /** URI naming the build platform (e.g. the kiln installation); defaults to kiln's builder URI. */
  builderId?: string;
  kilnVersion?: string;
}

/**
 * SLSA provenance for an image: the recipe and upstream version as external parameters, each
 * arch's lockfile and the source artifacts as resolved dependencies, the builder, and the
 * earliest start and latest finish across the arch builds.
 */
export function slsaProvenance(input: ProvenanceInput): SlsaProvenance {
  const { request, archResults } = input;
  const dependencies = new Map<string, ResourceDescriptor>();
  for (const result of archResults) {
    for (const m of result.materials) {
      dependencies.set(`${m.uri}\0${JSON.stringify(m.digest)}`, {
        uri: m.uri,
        digest: m.digest,
        ...(m.name ? { name: m.name } : {}),
      });
    }
    if (result.lockfileDigest) {
      const [algorithm, hex] = result.lockfileDigest.split(':');
      dependencies.set(`lockfile\0${result.arch}`, {
        name: `lockfile-${result.arch}`,
        digest: { [algorithm ?? 'sha256']: hex ?? '' },
      });
    }
  }
  const builders = Object.fromEntries(archResults.map((r) => [r.builder.id, r.builder.version]));
  const starts = archResults.map((r) => r.startedAt).sort();
  const finishes = archResults.map((r) => r.finishedAt).sort();
  const firstBuilder = archResults[0]?.builder.id ?? 'unknown';
  return {
    buildDefinition: {
      buildType: kilnBuildType,
      externalParameters: {
        recipe: { name: request.recipe, file: request.recipeFile },
        version: request.version,
        epoch: request.epoch,
        stream: request.stream,
        archs: [...request.archs].sort(),
        upstream: request.upstream,
      },
      internalParameters: {
        inputsDigest: request.inputsDigest,
        reason: request.reason,
        builders,
        ...(input.fixes && input.fixes.length > 0
          ? {
              fixes: input.fixes.map((f) => ({
                package: f.package,
                from: f.from,
                to: f.to,
                cves: [...f.cves],
                changelogFound: f.changelogFound,
              })),
            }
          : {}),
      },
      resolvedDependencies: [...dependencies.values()].sort((a, b) => key(a).localeCompare(key(b))),
    },
    runDetails: {
      builder: {
        id: input.builderId ?? `https://kiln.dev/builders/${firstBuilder}`,
        version: { kiln: input.kilnVersion ?? '0.1.0', ...builders },
      },
      metadata: {
        invocationId: `${request.recipe}@${request.version}-r${request.epoch}/${request.inputsDigest}`,
        startedOn: starts[0] ?? request.requestedAt,
        finishedOn: finishes[finishes.length - 1] ?? request.requestedAt,
      },
      byproducts: [...archResults]
        .sort((a, b) => a.arch.localeCompare(b.arch))
        .map((r) => ({
          name: `manifest-${r.arch}`,
          digest: { sha256: r.manifest.digest.replace(/^sha256:/, '') },
          mediaType: r.manifest.mediaType,
        })),
    },
  };
}

function key(d: ResourceDescriptor): string {
  return `${d.uri ?? ''}\0${d.name ?? ''}`;
}
