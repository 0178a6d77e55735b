import { z } from 'zod';

/*
 * The recipe language. Field names are kebab-case in YAML and stay kebab-case in the parsed
 * object (what you read in the file is what you read in the code). Every field carries TSDoc:
 * the recipe reference and the JSON Schema are generated from these schemas.
 * FIRST CUT by the core issue: the recipe issue owns and refines this file.
 */

const archName = z.enum(['amd64', 'arm64', 'armhf', 'ppc64el', 's390x', 'riscv64']);
export type Arch = z.infer<typeof archName>;

const sha256Hex = z.string().regex(/^[a-f0-9]{64}$/, 'expected 64 lowercase hex characters');

/** Version extraction, applied to each upstream tag in this order. */
const versionExtraction = {
  /** Removed from the start of each tag, e.g. `v`. */
  'strip-prefix': z.string().optional(),
  /** Removed from the end of each tag. */
  'strip-suffix': z.string().optional(),
  /** Only tags that start with this are considered. */
  'tag-filter-prefix': z.string().optional(),
  /** Only tags that contain this are considered. */
  'tag-filter-contains': z.string().optional(),
  /** Tags matching any of these regular expressions are ignored. */
  'ignore-regex-patterns': z.array(z.string()).optional(),
  /** Regex replacements applied in order, after the strips. */
  'version-transform': z.array(z.strictObject({ match: z.string(), replace: z.string() })).optional(),
  /** A regex with a named group `version`; tags that do not match are ignored. */
  'extract-version': z.string().optional(),
};

export const upstreamSchema = z.strictObject({
  /** GitHub repository `owner/repo`. */
  github: z.string().optional(),
  /** For `github`: read releases (default) or plain tags. */
  use: z.enum(['releases', 'tags']).optional(),
  /** npm package name. */
  npm: z.string().optional(),
  /** PyPI project name. */
  pypi: z.string().optional(),
  /** crates.io crate name. */
  crates: z.string().optional(),
  /** Go module path. */
  go: z.string().optional(),
  /** OCI repository `host/name`, whose tags are versions. */
  oci: z.string().optional(),
  /** A Debian package's versions in a suite. */
  debian: z.strictObject({ package: z.string(), suite: z.string() }).optional(),
  ...versionExtraction,
});

export const streamSchema = z.union([
  /** A semver range; the stream's name is derived from it. */
  z.string(),
  z.strictObject({
    /** Name of this line of tags, e.g. `3.12`. */
    name: z.string(),
    /** Semver range of versions in this stream. */
    range: z.string(),
  }),
]);

export const versionsSchema = z.strictObject({
  /** How versions are compared. */
  scheme: z.enum(['semver', 'loose', 'debian']).default('semver'),
  /** Lines of tags; each stream builds its highest version. Default: one stream of every version. */
  streams: z.array(streamSchema).optional(),
  /** Whether prereleases may be chosen. */
  prereleases: z.boolean().default(false),
  /** Minimum age of a release before it is built, e.g. `6h` (a supply-chain guard). */
  cooldown: z.string().optional(),
});

export const contentsSchema = z.strictObject({
  /** Debian suites to read, e.g. `[bookworm, bookworm-updates, bookworm-security]`. */
  suites: z.array(z.string()).min(1),
  /** Archive components. */
  components: z.array(z.string()).default(['main']),
  /** Packages to install, with their dependencies. */
  packages: z.array(z.string()).min(1),
  /** Packages never to install, even as dependencies (e.g. `dpkg`, `perl-base`, a shell). */
  exclude: z.array(z.string()).default([]),
});

export const fileSchema = z.strictObject({
  /** Where to fetch from; `${version}` is replaced by the upstream version. */
  url: z.string(),
  /** Expected SHA-256 of the file. */
  sha256: sha256Hex.optional(),
  /** A checksums file (`sha256sum` format) published beside the file. */
  'checksum-url': z.string().optional(),
  /** Path inside the image (or the build context for `dockerfile`). */
  path: z.string(),
  /** File mode, octal, e.g. `0755`. */
  mode: z.string().regex(/^0?[0-7]{3,4}$/).optional(),
  /** Unpack a tar archive at `path` instead of copying it. */
  extract: z.boolean().optional(),
});

export const accountsSchema = z.strictObject({
  /** User the image runs as: a name from `users` or a uid. */
  'run-as': z.union([z.string(), z.number().int()]).default('nonroot'),
  users: z
    .array(z.strictObject({ name: z.string(), uid: z.number().int(), gid: z.number().int().optional(), home: z.string().optional() }))
    .optional(),
  groups: z.array(z.strictObject({ name: z.string(), gid: z.number().int(), members: z.array(z.string()).optional() })).optional(),
});

export const dockerfileSchema = z.strictObject({
  /** Dockerfile path, relative to the recipe file. */
  path: z.string().default('Dockerfile'),
  /** Build context folder, relative to the recipe file. */
  context: z.string().default('.'),
  /** Multi-stage target. */
  target: z.string().optional(),
  /** Build arguments (VERSION and SOURCE_DATE_EPOCH are always passed). */
  'build-args': z.record(z.string(), z.string()).optional(),
  /** Names of secrets passed as build secrets, never as args (values from KILN_SECRET_<NAME>). */
  secrets: z.array(z.string()).optional(),
  /**
   * Images the Dockerfile names in `FROM`, mapped to images kiln built, so they are never pulled
   * from a remote registry: `oci-layout:<dir>[:<ref>]` (relative to the recipe file) or
   * `kiln:<recipe>[:<tag>]` (from KILN_REGISTRY). E.g. `{ debian-build: "kiln:build-essential" }`.
   */
  bases: z.record(z.string(), z.string()).optional(),
});

export const apkoSchema = z.strictObject({
  repositories: z.array(z.string()),
  keyring: z.array(z.string()).optional(),
  packages: z.array(z.string()).min(1),
  /** Folders, links and permissions to create after the packages are installed (apko `paths`). */
  paths: z
    .array(
      z.strictObject({
        path: z.string(),
        type: z.enum(['directory', 'empty-file', 'hardlink', 'symlink', 'permissions']),
        /** For links: what they point at. */
        source: z.string().optional(),
        uid: z.number().int().optional(),
        gid: z.number().int().optional(),
        /** Octal, e.g. `0755`. */
        permissions: z.string().regex(/^0?[0-7]{3,4}$/).optional(),
        recursive: z.boolean().optional(),
      }),
    )
    .optional(),
});

export const buildSchema = z.strictObject({
  /** Which builder makes the image. */
  builder: z.enum(['debian', 'dockerfile', 'apko']),
  /** Architectures to build (Debian names). */
  archs: z.array(archName).default(['amd64']),
  /** Debian packages (builder `debian`). */
  contents: contentsSchema.optional(),
  /** Files fetched with a checksum into the image or the build context. */
  files: z.array(fileSchema).optional(),
  /** Dockerfile build (builder `dockerfile`). */
  dockerfile: dockerfileSchema.optional(),
  /** APK contents (builder `apko`). */
  apko: apkoSchema.optional(),
  accounts: accountsSchema.optional(),
  entrypoint: z.array(z.string()).optional(),
  cmd: z.array(z.string()).optional(),
  env: z.record(z.string(), z.string()).optional(),
  workdir: z.string().optional(),
  annotations: z.record(z.string(), z.string()).optional(),
});

export const patchSchema = z.strictObject({
  /** Patch file, relative to the recipe. */
  file: z.string(),
  /** Why the patch exists. */
  reason: z.string(),
  /** The upstream issue or pull request that tracks the fix. */
  upstream: z.string().optional(),
  /** The first upstream version that contains the fix: from it on, the patch is dropped. */
  until: z.string().optional(),
});

export const testSchema = z.strictObject({
  name: z.string().optional(),
  /** Command and arguments, run inside the image without a shell. */
  run: z.array(z.string()).min(1),
  /** Text the command's output must contain. */
  'expect-output': z.string().optional(),
});

export const publishSchema = z.strictObject({
  /** Repository name under KILN_REGISTRY; default: the recipe name. */
  repository: z.string().optional(),
  /** Which tags to move: the full tag policy, or only exact versions. */
  tags: z.enum(['semver', 'exact']).default('semver'),
});

export const recipeSchema = z.strictObject({
  /** Image name: lowercase letters, digits, `-`. */
  name: z.string().regex(/^[a-z0-9]+(-[a-z0-9]+)*$/),
  description: z.string(),
  /** SPDX license expression of what the image ships. */
  license: z.string(),
  homepage: z.string().optional(),
  upstream: upstreamSchema,
  versions: versionsSchema.default({ scheme: 'semver', prereleases: false }),
  build: buildSchema,
  patches: z.array(patchSchema).default([]),
  test: z.array(testSchema).default([]),
  publish: publishSchema.default({ tags: 'semver' }),
});

export type Recipe = z.infer<typeof recipeSchema>;
export type RecipeUpstream = z.infer<typeof upstreamSchema>;
export type RecipeBuild = z.infer<typeof buildSchema>;
export type RecipeContents = z.infer<typeof contentsSchema>;
export type RecipeTest = z.infer<typeof testSchema>;
export type RecipePatch = z.infer<typeof patchSchema>;
