import { canonicalJson, sha256Digest } from '../oci/digest.ts';
import { sourceKeys, type Recipe } from '../recipe/schema.ts';
import { schemeOf } from '../versioning/scheme.ts';

/** Everything that decides an image's bytes (ARCHITECTURE.md, "Inputs digest"). */
export interface DigestInputs {
  recipe: Recipe;
  /** Normalised upstream version. */
  version: string;
  /** Checksums of the upstream artifacts the build fetches, keyed by file or URL. */
  artifacts?: Readonly<Record<string, string>> | undefined;
  /** Resolved inputs per arch, e.g. the Debian lockfile digest: `{ amd64: 'sha256:…' }`. */
  resolved?: Readonly<Record<string, unknown>> | undefined;
  /** Digests of files beside the recipe that go into the build (patches, Dockerfile). */
  localFiles?: Readonly<Record<string, string>> | undefined;
  /** The builder's version: a new builder means new bytes. */
  builderVersion: string;
}

/**
 * The part of a recipe that shapes the image. Left out: how versions are found and filtered
 * (`versions`, extraction options), tests (they gate publishing, they do not change bytes), and
 * `publish` (where it goes, not what it is). Patches already fixed upstream at this version are
 * dropped, exactly as the build drops them.
 */
export function normaliseRecipe(recipe: Recipe, version: string): Record<string, unknown> {
  const scheme = schemeOf(recipe.versions.scheme);
  const source = Object.fromEntries(
    sourceKeys.filter((k) => recipe.upstream[k] !== undefined).map((k) => [k, recipe.upstream[k]]),
  );
  const patches = recipe.patches.filter((p) => {
    if (p.until === undefined) return true;
    const until = scheme.normalize(p.until);
    return until === undefined || scheme.compare(version, until) < 0;
  });
  return {
    name: recipe.name,
    description: recipe.description,
    license: recipe.license,
    homepage: recipe.homepage,
    upstream: source,
    build: recipe.build,
    patches: patches.map((p) => ({ file: p.file })),
  };
}

/** `sha256:…` over the canonical JSON of the inputs: same inputs, same digest, on any machine. */
export function inputsDigest(inputs: DigestInputs): string {
  return sha256Digest(
    canonicalJson({
      kiln: 1,
      recipe: normaliseRecipe(inputs.recipe, inputs.version),
      version: inputs.version,
      artifacts: inputs.artifacts ?? {},
      resolved: inputs.resolved ?? {},
      localFiles: inputs.localFiles ?? {},
      builder: inputs.builderVersion,
    }),
  );
}
