import { minimatch } from 'minimatch';
import { z } from 'zod';
import { parseDuration } from '../config.ts';
import { unsafeVersionReason } from '../versioning/safe-version.ts';
import { unsatisfiableRangeReason } from '../versioning/streams.ts';

/*
 * The recipe language. Field names are kebab-case in YAML and stay kebab-case in the parsed
 * object (what you read in the file is what you read in the code). Every field carries TSDoc:
 * the recipe reference (docs/recipes.md) and the JSON Schema take their descriptions and
 * examples from these comments (src/recipe/field-docs.ts reads them), so they are the one source.
 * Checks that need several fields at once live in src/recipe/semantic-checks.ts.
 */

export const archNames = ['amd64', 'arm64', 'armhf', 'ppc64el', 's390x', 'riscv64'] as const;
const archName = z.enum(archNames);
export type Arch = z.infer<typeof archName>;

const sha256Hex = z.string().regex(/^[a-f0-9]{64}$/, 'expected 64 lowercase hex characters');

function regexProblem(source: string): string | undefined {
  try {
    new RegExp(source);
    return undefined;
  } catch (error) {
    return error instanceof Error
      ? error.message.replace(/^Invalid regular expression: /, '')
      : String(error);
  }
}

/** A string that must compile as a JavaScript regular expression. */
const regex = z.string().superRefine((value, ctx) => {
  const problem = regexProblem(value);
  if (problem) ctx.addIssue({ code: 'custom', message: `invalid regular expression: ${problem}` });
});

const safeVersion = z.string().superRefine((value, ctx) => {
  const problem = unsafeVersionReason(value);
  if (problem) ctx.addIssue({ code: 'custom', message: `version ${problem}` });
});

const semverRange = z.string().superRefine((value, ctx) => {
  const problem = unsatisfiableRangeReason(value);
  if (problem)
    ctx.addIssue({ code: 'custom', message: `range ${JSON.stringify(value)} ${problem}` });
});

const duration = z.string().superRefine((value, ctx) => {
  try {
    parseDuration(value);
  } catch {
    ctx.addIssue({ code: 'custom', message: 'expected a duration such as 90m, 6h or 3d' });
  }
});

/** The longest `timeout` a test may ask for (before emulation's factor): one hour. */
export const maxTestTimeoutMs = 3_600_000;

const testTimeout = z.string().superRefine((value, ctx) => {
  let ms: number;
  try {
    ms = parseDuration(value);
  } catch {
    ctx.addIssue({ code: 'custom', message: 'expected a duration such as 90s, 10m or 1h' });
    return;
  }
  if (ms < 1000 || ms > maxTestTimeoutMs)
    ctx.addIssue({
      code: 'custom',
      message: `expected a duration from 1s to 1h, got ${JSON.stringify(value)}`,
    });
});

export const versionTransformSchema = z.strictObject({
  /** Regular expression; every match is replaced. @example match: '_' */
  match: regex,
  /** Replacement; `$1` and `$<name>` refer to groups. @example replace: '.' */
  replace: z.string(),
});

export const debianUpstreamSchema = z.strictObject({
  /** Binary package name. @example package: python3.11 */
  package: z.string().min(1),
  /**
   * Suite to read, e.g. `bookworm`, or several, whose versions are merged: one recipe can follow
   * two Debian releases as two streams (python 3.13 from trixie, 3.11 from bookworm).
   * @example suite: [trixie, bookworm]
   */
  suite: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]),
});

/** Version extraction, applied to each upstream tag (order: filters, strips, extract, transforms). */
const versionExtraction = {
  /** Removed from the start of each tag. @example strip-prefix: v */
  'strip-prefix': z.string().optional(),
  /** Removed from the end of each tag. @example strip-suffix: -final */
  'strip-suffix': z.string().optional(),
  /** Only tags that start with this are considered. @example tag-filter-prefix: curl- */
  'tag-filter-prefix': z.string().optional(),
  /** Only tags that contain this are considered. @example tag-filter-contains: release */
  'tag-filter-contains': z.string().optional(),
  /** Tags matching any of these regular expressions are ignored. @example ignore-regex-patterns: ['-nightly$', '^test-'] */
  'ignore-regex-patterns': z.array(regex).optional(),
  /** Regex replacements applied in order, after the strips and `extract-version`. @example version-transform: [{ match: '_', replace: '.' }] */
  'version-transform': z.array(versionTransformSchema).optional(),
  /** A regex with a named group `version`; tags that do not match are ignored. @example extract-version: '^curl-(?<version>\d+_\d+_\d+)$' */
  'extract-version': regex
    .refine(
      (v) => regexProblem(v) !== undefined || /\(\?<version>/.test(v),
      'extract-version needs a named group `(?<version>…)`',
    )
    .optional(),
};

export const sourceKeys = ['github', 'npm', 'pypi', 'crates', 'go', 'oci', 'debian'] as const;

export const upstreamSchema = z
  .strictObject({
    /** GitHub repository `owner/repo`. @example github: astral-sh/ruff */
    github: z
      .string()
      .regex(/^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/, 'expected owner/repo')
      .optional(),
    /** For `github`: read releases or plain tags. @default releases */
    use: z.enum(['releases', 'tags']).optional(),
    /** npm package name. @example npm: prettier */
    npm: z
      .string()
      .regex(/^(@[a-z0-9][a-z0-9._~-]*\/)?[a-z0-9][a-z0-9._~-]*$/, 'expected an npm package name')
      .optional(),
    /** PyPI project name. @example pypi: black */
    pypi: z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'expected a PyPI project name')
      .optional(),
    /** crates.io crate name. @example crates: ripgrep */
    crates: z
      .string()
      .regex(/^[A-Za-z0-9_-]+$/, 'expected a crate name')
      .optional(),
    /** Go module path. @example go: golang.org/x/tools/gopls */
    go: z.string().min(1).optional(),
    /** OCI repository `host/name`, whose tags are versions. @example oci: registry.example/library/redis */
    oci: z.string().min(1).optional(),
    /** A Debian package's versions in a suite. */
    debian: debianUpstreamSchema.optional(),
    ...versionExtraction,
  })
  .superRefine((u, ctx) => {
    const present = sourceKeys.filter((k) => u[k] !== undefined);
    if (present.length === 0) {
      ctx.addIssue({ code: 'custom', message: `needs one source: ${sourceKeys.join(', ')}` });
    } else if (present.length > 1) {
      ctx.addIssue({
        code: 'custom',
        path: [present[1] ?? ''],
        message: `has several sources (${present.join(', ')}): keep one`,
      });
    }
    if (u.use !== undefined && u.github === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['use'],
        message: '`use` only applies to a `github` upstream',
      });
    }
  });

export const streamObjectSchema = z.strictObject({
  /** Name of this line of tags. @example name: '3.12' */
  name: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'expected letters, digits, `.`, `_` or `-`'),
  /** Semver range of the versions in this stream. @example range: '>=3.12.0 <3.13.0' */
  range: semverRange,
  /**
   * The upstream this stream's versions come from, in place of the recipe's `upstream` (another
   * package, suite or repository). Where a stream's contents differ only by its name, write
   * `${stream}` in the recipe's fields instead: `${stream}` in `upstream`, `build` and `test` is
   * replaced by the stream's name (src/recipe/streams.ts), so each stream is planned,
   * digested, built and tested as a recipe of its own.
   * @example upstream: { debian: { package: openjdk-25-jre-headless, suite: trixie } }
   */
  upstream: upstreamSchema.optional(),
});

export const streamSchema = z.union([semverRange, streamObjectSchema]);

export const versionsSchema = z.strictObject({
  /** How versions are read and ordered: `semver`, `loose` (`v1.2`, `1.2.3.4`, `2024.10.1`) or `debian` (dpkg order). @default semver */
  scheme: z.enum(['semver', 'loose', 'debian']).default('semver'),
  /** Lines of tags, each a semver range (or `{name, range}`); each stream builds its highest version. Default: one stream of every version. @example streams: ['3.12', '3.13'] */
  streams: z.array(streamSchema).min(1).optional(),
  /** Whether prereleases may be chosen (the upstream's prerelease flag counts too). @default false */
  prereleases: z.boolean().default(false),
  /** Minimum age of a release before it is built, a supply-chain guard. Releases with no publication time pass. @example cooldown: 6h */
  cooldown: duration.optional(),
});

/**
 * Why `pattern` is not a usable `build.contents.drop` glob, or undefined: it must be absolute,
 * stay inside the root in every brace expansion (no `.`/`..` or empty segment), not name the
 * root itself, and compile.
 */
export function dropPatternProblem(pattern: string): string | undefined {
  if (!pattern.startsWith('/')) return 'expected an absolute path glob such as /usr/lib/*/gconv';
  if (pattern.includes('\\')) return 'a drop glob has no escapes (`\\`)';
  for (const expanded of minimatch.braceExpand(pattern)) {
    const parts = expanded.slice(1).split('/');
    if (parts.some((s) => s === '..' || s === '.'))
      return `\`${pattern}\` escapes the root (a \`.\` or \`..\` segment)`;
    if (parts.every((s) => s === '**' || s === ''))
      return `\`${pattern}\` would drop the whole root`;
    if (parts.some((s) => s === '')) return `\`${pattern}\` has an empty path segment`;
  }
  const re = minimatch.makeRe(pattern.slice(1), { dot: true });
  // minimatch reads an unclosed `[` or `{` as a literal and an empty range (`[z-a]`) as matching
  // nothing; in a recipe both are mistakes.
  if (re === false || re.source.includes('$.$') || !balanced(pattern))
    return `\`${pattern}\` is not a valid glob (unclosed or empty \`[…]\` or \`{…}\`)`;
  return undefined;
}

function balanced(pattern: string): boolean {
  let square = false;
  let curly = 0;
  for (const c of pattern) {
    if (square) square = c !== ']';
    else if (c === '[') square = true;
    else if (c === ']') return false;
    else if (c === '{') curly++;
    else if (c === '}' && --curly < 0) return false;
  }
  return !square && curly === 0;
}

const dropPattern = z.string().superRefine((value, ctx) => {
  const problem = dropPatternProblem(value);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});

export const contentsSchema = z.strictObject({
  /** Debian suites to read. @example suites: [bookworm, bookworm-updates, bookworm-security] */
  suites: z.array(z.string().min(1)).min(1),
  /** Archive components. @default ["main"] */
  components: z.array(z.string().min(1)).default(['main']),
  /** Packages to install, with their dependencies. @example packages: [ca-certificates, tzdata] */
  packages: z.array(z.string().min(1)).min(1),
  /** Packages never to install, even as dependencies (e.g. `dpkg`, `perl-base`, a shell). @default [] */
  exclude: z.array(z.string().min(1)).default([]),
  /**
   * Paths removed from the image after the packages are unpacked: absolute globs (`*`, `**`,
   * `?`, `[…]`, `{a,b}`) matched against each path where it lands in the image (and as the
   * package ships it); a matching folder goes with everything under it. The packages stay
   * listed in the SBOM, each with the paths it lost. For files the image's program never
   * opens, such as glibc's charset modules in an image whose runtime has its own codecs.
   * @example drop: [/usr/lib/x86_64-linux-gnu/gconv]
   */
  drop: z.array(dropPattern).min(1).optional(),
});

const npmUrl = /^npm:(@[a-z0-9][a-z0-9._~-]*\/)?[a-z0-9][a-z0-9._~-]*$/;
/** `github:<owner>/<repo>/<path>`: a file on the configured GitHub's web side. */
export const githubFileUrl = /^github:[A-Za-z0-9][A-Za-z0-9-]*\/[A-Za-z0-9._-]+\/\S+$/;

export const fileSchema = z
  .strictObject({
    /**
     * Where to fetch from; `${version}` is replaced by the upstream version. `npm:<package>` is
     * that npm package's tarball at the upstream version, fetched from KILN_NPM_REGISTRY (default:
     * the host's npm configuration) and checked against the registry's published `integrity`.
     * `github:<owner>/<repo>/<path>` is `<path>` on the web side of the GitHub kiln watches
     * (KILN_GITHUB_API_URL: `https://github.com/…` for GitHub's public API, `https://host/…` for
     * GitHub Enterprise Server's `https://host/api/v3`), e.g. a release's source archive.
     * @example url: https://example.org/tool-${version}.tar.gz
     */
    url: z
      .string()
      .min(1)
      .refine((u) => !u.startsWith('npm:') || npmUrl.test(u), 'expected npm:<package>')
      .refine(
        (u) => !u.startsWith('github:') || githubFileUrl.test(u),
        'expected github:<owner>/<repo>/<path>',
      ),
    /** Expected SHA-256 of the file (64 hex characters). */
    sha256: sha256Hex.optional(),
    /**
     * A checksums file (`sha256sum` format) published beside the file; `${version}` is replaced.
     * `github:<owner>/<repo>/<path>` as in `url`.
     */
    'checksum-url': z
      .string()
      .min(1)
      .refine(
        (u) => !u.startsWith('github:') || githubFileUrl.test(u),
        'expected github:<owner>/<repo>/<path>',
      )
      .optional(),
    /** Path inside the image (or the build context for `dockerfile`). @example path: /usr/local/bin/tool */
    path: z.string().min(1),
    /** File mode, octal. @example mode: '0755' */
    mode: z
      .string()
      .regex(/^0?[0-7]{3,4}$/, 'expected an octal mode such as 0755')
      .optional(),
    /** Unpack a tar archive at `path` instead of copying it. @default false */
    extract: z.boolean().optional(),
    /** With `extract`: leading path components dropped from each entry (npm tarballs: 1, for `package/`). @default 0 */
    'strip-components': z.number().int().min(0).max(16).optional(),
  })
  .superRefine((f, ctx) => {
    if (!f.url.startsWith('npm:') && f.sha256 === undefined && f['checksum-url'] === undefined) {
      ctx.addIssue({
        code: 'custom',
        message: 'needs `sha256` or `checksum-url`: every fetched file is checked',
      });
    }
    if (f['strip-components'] !== undefined && !f.extract) {
      ctx.addIssue({
        code: 'custom',
        path: ['strip-components'],
        message: '`strip-components` only applies with `extract: true`',
      });
    }
  });

export const userSchema = z.strictObject({
  /** User name. @example name: nonroot */
  name: z.string().regex(/^[a-z_][a-z0-9_-]*$/, 'expected a lowercase user name'),
  /** Numeric user id. @example uid: 65532 */
  uid: z.number().int().min(0),
  /** Primary group id; default: the uid. */
  gid: z.number().int().min(0).optional(),
  /** Home folder. @example home: /home/nonroot */
  home: z.string().optional(),
});

export const groupSchema = z.strictObject({
  /** Group name. @example name: nonroot */
  name: z.string().regex(/^[a-z_][a-z0-9_-]*$/, 'expected a lowercase group name'),
  /** Numeric group id. @example gid: 65532 */
  gid: z.number().int().min(0),
  /** User names in the group. */
  members: z.array(z.string()).optional(),
});

export const accountsSchema = z.strictObject({
  /** User the image runs as: a name from `users` or a uid. @default nonroot */
  'run-as': z.union([z.string(), z.number().int()]).default('nonroot'),
  /** Users written to `/etc/passwd`. */
  users: z.array(userSchema).optional(),
  /** Groups written to `/etc/group`. */
  groups: z.array(groupSchema).optional(),
});

export const dockerfileSchema = z.strictObject({
  /** Dockerfile path, relative to the recipe file, inside its folder (no `..` out, no link out). @default Dockerfile */
  path: z.string().default('Dockerfile'),
  /** Build context folder, relative to the recipe file, inside its folder (no `/`, no `..` out, no link out). @default . */
  context: z.string().default('.'),
  /** Multi-stage target. */
  target: z.string().optional(),
  /** Build arguments (VERSION and SOURCE_DATE_EPOCH are always passed). @example build-args: { NODE_ENV: production } */
  'build-args': z.record(z.string(), z.string()).optional(),
  /** Names of secrets passed as build secrets, never as args (values from KILN_SECRET_<NAME>). */
  secrets: z
    .array(
      z
        .string()
        .regex(
          /^[A-Za-z0-9][A-Za-z0-9._-]*$/,
          'expected a secret name (letters, digits, `.`, `_`, `-`)',
        ),
    )
    .optional(),
  /**
   * Images the Dockerfile names in `FROM`, mapped to images kiln built, so they are never pulled
   * from a remote registry: `oci-layout:<dir>[:<ref>]` (relative to the recipe file) or
   * `kiln:<recipe>[:<tag>]` (from KILN_REGISTRY). @example bases: { build-base: "kiln:build-essential" }
   */
  bases: z.record(z.string(), z.string()).optional(),
  /**
   * Give `RUN` steps the host's network. By default they have none (a network namespace with
   * loopback only): everything a build needs is fetched by kiln beforehand (`files`, checked by
   * checksum), as melange does. Recorded in the image as the `dev.kiln.build.network`
   * annotation and in the inputs digest. @default false @example network: true
   */
  network: z.boolean().optional(),
  /**
   * The image ships a shell on purpose (`/bin/sh`, bash, busybox…). Without it, a build whose
   * image holds one fails: kiln's images are distroless. @default false @example shell: true
   */
  shell: z.boolean().optional(),
});

export const apkoPathSchema = z.strictObject({
  /** Path inside the image. @example path: /data */
  path: z.string().min(1),
  /** What to create. */
  type: z.enum(['directory', 'empty-file', 'hardlink', 'symlink', 'permissions']),
  /** For links: what they point at. */
  source: z.string().optional(),
  /** Owner uid. */
  uid: z.number().int().optional(),
  /** Owner gid. */
  gid: z.number().int().optional(),
  /** Octal mode. @example permissions: '0755' */
  permissions: z
    .string()
    .regex(/^0?[0-7]{3,4}$/, 'expected an octal mode such as 0755')
    .optional(),
  /** Apply to everything below the path too. */
  recursive: z.boolean().optional(),
});

export const apkoSchema = z.strictObject({
  /** APK repositories. */
  repositories: z.array(z.string()).min(1),
  /** Public keys that sign the repositories' indexes. */
  keyring: z.array(z.string()).optional(),
  /** APK packages to install. */
  packages: z.array(z.string()).min(1),
  /** Folders, links and permissions made after the packages are installed (apko `paths`). */
  paths: z.array(apkoPathSchema).optional(),
});

/** A folder, file or link the debian builder adds on top of the packages (a writable data folder, a config that works as nonroot). */
export const debianPathSchema = z
  .strictObject({
    /** Absolute path inside the image. @example path: /var/lib/postgresql/data */
    path: z
      .string()
      .regex(/^(?!.*\/\.\.?(\/|$))\/[^/]/, 'expected an absolute path without `.` or `..`'),
    /** What to create: a folder, a file holding `content`, or a symlink to `source`. */
    type: z.enum(['directory', 'file', 'symlink']),
    /** For `file`: its text. @example content: "listen 8080;\n" */
    content: z.string().optional(),
    /** For `symlink`: what it points at; `${arch}` is the arch's Debian name (`amd64`). @example source: java-25-openjdk-${arch} */
    source: z.string().min(1).optional(),
    /** Owner uid. @default 0 @example uid: 65532 */
    uid: z.number().int().min(0).optional(),
    /** Owner gid; default: the uid. */
    gid: z.number().int().min(0).optional(),
    /** Octal mode; default `0755` for folders, `0644` for files. @example permissions: '0700' */
    permissions: z
      .string()
      .regex(/^0?[0-7]{3,4}$/, 'expected an octal mode such as 0755')
      .optional(),
  })
  .superRefine((p, ctx) => {
    if ((p.type === 'symlink') !== (p.source !== undefined))
      ctx.addIssue({
        code: 'custom',
        path: ['source'],
        message: 'a `symlink` needs `source`, and only a symlink has one',
      });
    if (p.content !== undefined && p.type !== 'file')
      ctx.addIssue({ code: 'custom', path: ['content'], message: 'only a `file` has `content`' });
  });

export const buildSchema = z
  .strictObject({
    /** Which builder makes the image: `debian`, `dockerfile` or `apko`. @example builder: debian */
    builder: z.enum(['debian', 'dockerfile', 'apko']),
    /** Architectures to build (Debian names). @default ["amd64"] */
    archs: z.array(archName).min(1).default(['amd64']),
    /** Debian packages (builder `debian`). */
    contents: contentsSchema.optional(),
    /** Files fetched with a checksum into the image or the build context. */
    files: z.array(fileSchema).optional(),
    /** Folders, files and links made on top of the packages (builder `debian`), in the top layer. */
    paths: z.array(debianPathSchema).optional(),
    /** Dockerfile build (builder `dockerfile`). */
    dockerfile: dockerfileSchema.optional(),
    /** APK contents (builder `apko`). */
    apko: apkoSchema.optional(),
    /** Users and groups of the image and who it runs as. */
    accounts: accountsSchema.optional(),
    /** Entrypoint, as an argument list (no shell). @example entrypoint: [/usr/bin/python3] */
    entrypoint: z.array(z.string()).optional(),
    /** Default arguments. @example cmd: ['--help'] */
    cmd: z.array(z.string()).optional(),
    /** Environment variables of the image. @example env: { PATH: /usr/local/bin:/usr/bin:/bin } */
    env: z
      .record(
        z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'expected an environment variable name'),
        z.string(),
      )
      .optional(),
    /** Working folder. @example workdir: /work */
    workdir: z.string().optional(),
    /** Extra image annotations. @example annotations: { org.opencontainers.image.vendor: Example } */
    annotations: z.record(z.string(), z.string()).optional(),
  })
  .superRefine((b, ctx) => {
    if (b.builder === 'debian' && !b.contents)
      ctx.addIssue({
        code: 'custom',
        path: ['builder'],
        message: 'the debian builder needs `contents`',
      });
    if (b.paths !== undefined && b.builder !== 'debian')
      ctx.addIssue({
        code: 'custom',
        path: ['paths'],
        message: '`paths` is only used by the debian builder (apko: `apko.paths`)',
      });
    if (b.builder === 'apko' && !b.apko)
      ctx.addIssue({ code: 'custom', path: ['builder'], message: 'the apko builder needs `apko`' });
    for (const key of ['contents', 'dockerfile', 'apko'] as const) {
      const owner = { contents: 'debian', dockerfile: 'dockerfile', apko: 'apko' }[key];
      if (b[key] !== undefined && b.builder !== owner) {
        ctx.addIssue({
          code: 'custom',
          path: [key],
          message: `\`${key}\` is only used by the ${owner} builder, not ${b.builder}`,
        });
      }
    }
  });

export const patchSchema = z.strictObject({
  /** Patch file, relative to the recipe. @example file: patches/fix-build.patch */
  file: z.string().min(1),
  /** Why the patch exists. @example reason: builds with the system zlib */
  reason: z.string().min(1),
  /** The upstream issue or pull request that tracks the fix. @example upstream: https://github.com/owner/repo/pull/123 */
  upstream: z.string().optional(),
  /** The first upstream version that contains the fix: from it on, the patch is dropped. @example until: 1.4.0 */
  until: safeVersion.optional(),
});

export const testSchema = z.strictObject({
  /** A short name for reports. @example name: version */
  name: z.string().optional(),
  /**
   * Command and arguments, run inside the image without a shell. Replaced here and in
   * `expect-output`: `${version}` (the upstream version), `${arch}` (Debian's arch, `amd64`),
   * `${triplet}` (its GNU multiarch triplet, `x86_64-linux-gnu`) and `${loader}` (glibc's dynamic
   * loader, `/lib64/ld-linux-x86-64.so.2`), so one test can name per-arch paths:
   * `[${loader}, --list, /usr/lib/${triplet}/libssl.so.3]`.
   * @example run: [/usr/bin/python3, --version]
   */
  run: z.array(z.string()).min(1),
  /** Text the command's output must contain; `${version}` is replaced. @example expect-output: Python ${version} */
  'expect-output': z.string().optional(),
  /**
   * A server from the image started in the background before `run`, in the same sandbox (one
   * loopback network, the shared `/tmp`), and stopped once `run` has ended.
   * @example service: [/usr/bin/redis-server, --port, '6379']
   */
  service: z.array(z.string()).min(1).optional(),
  /**
   * Before `run`: wait until `127.0.0.1:<port>` accepts connections, or until an HTTP GET of
   * `http://127.0.0.1:<port>/<path>` answers 2xx; that answer's body is checked with the output.
   * @example ready: 6379
   */
  ready: z
    .union([
      z.number().int().min(1).max(65535),
      z
        .string()
        .regex(/^http:\/\/127\.0\.0\.1:\d{1,5}\/\S*$/, 'expected http://127.0.0.1:<port>/<path>'),
    ])
    .optional(),
  /** An HTTP server the test runner offers on the sandbox's loopback during the test (for client images): every request gets 200 and `body`. @example serve: { port: 8000, body: hello } */
  serve: z
    .strictObject({
      /** Port on 127.0.0.1. @example port: 8000 */
      port: z.number().int().min(1).max(65535),
      /** What every request is answered with. @example body: hello */
      body: z.string(),
    })
    .optional(),
  /**
   * The test's time limit on a native host, from `1s` to `1h`; past it the test is killed and
   * fails, naming the limit. A service test's service lives up to 4 × the limit. When the image's
   * arch is not the host's, qemu-user runs the test and the limit (this or the default) is
   * multiplied by 5 (`emulationFactor` in src/sandbox/run-tests.ts): qemu's TCG is ~5–20× slower.
   * The test's log says whether it ran emulated, which limit applied and how long it took.
   * @default 2m
   * @example timeout: 10m
   */
  timeout: testTimeout.optional(),
  /** Files written into the shared `/tmp` before the test: file name → text. @example tmp-files: { in.json: '{"a": 1}' } */
  'tmp-files': z
    .record(
      z.string().regex(/^(?!\.\.?$)[A-Za-z0-9._-]+$/, 'expected a plain file name'),
      z.string(),
    )
    .optional(),
});

export const publishSchema = z.strictObject({
  /** Repository name under KILN_REGISTRY; default: the recipe name. @example repository: tools/prettier */
  repository: z
    .string()
    .regex(
      /^[a-z0-9]+([._-][a-z0-9]+)*(\/[a-z0-9]+([._-][a-z0-9]+)*)*$/,
      'expected an OCI repository name (lowercase, `/`-separated)',
    )
    .optional(),
  /** Which tags to move: `semver` (exact, `X.Y`, `X`, `latest`) or `exact` (only `X.Y.Z-rN` and `X.Y.Z`). @default semver */
  tags: z.enum(['semver', 'exact']).default('semver'),
});

/** A variant's name: its tag suffix (`-dev`) and, after the recipe's name, its catalog name. */
export const variantNameSchema = z
  .string()
  .regex(
    /^(?!r\d+$)[a-z][a-z0-9]*$/,
    'expected a lowercase word (letters, digits), not `r<N>`: it becomes the tag suffix `-<name>`',
  );

export const variantSchema = z.strictObject({
  /**
   * Debian packages added to `build.contents.packages` (and dropped from its `exclude`). For
   * `dev` they come on top of `busybox-static`. @example packages: [curl]
   */
  packages: z.array(z.string().min(1)).optional(),
  /** User the variant runs as: a name from the accounts or a uid. `dev`: `root`. @example run-as: root */
  'run-as': z.union([z.string(), z.number().int()]).optional(),
  /**
   * The variant's shell: it is tested with `<shell> -c 'echo ok'` before publishing. `dev`:
   * `/bin/sh` (busybox-static, whose applets kiln links into `/usr/bin`). @example shell: /bin/sh
   */
  shell: z
    .string()
    .regex(/^\/[^\s]+$/, 'expected an absolute path')
    .optional(),
  /** Names of the recipe's tests that do not hold in the variant (e.g. a no-shell check). @example skip-tests: [no shell] */
  'skip-tests': z.array(z.string().min(1)).optional(),
  /** Tests run only in the variant, after the recipe's own. */
  test: z.array(testSchema).optional(),
});

export const recipeSchema = z.strictObject({
  /** Image name: lowercase letters, digits, `-`. @example name: python */
  name: z.string().regex(/^[a-z0-9]+(-[a-z0-9]+)*$/, 'expected lowercase letters, digits and `-`'),
  /** One line saying what the image is. @example description: Python interpreter on a distroless base */
  description: z.string().min(1),
  /** SPDX license expression of what the image ships. @example license: PSF-2.0 */
  license: z.string().min(1),
  /** Project home page. @example homepage: https://www.python.org */
  homepage: z.string().optional(),
  /** Where versions come from: exactly one source, plus version-extraction options. */
  upstream: upstreamSchema,
  /** Version scheme, streams, prereleases and cooldown. */
  versions: versionsSchema.default({ scheme: 'semver', prereleases: false }),
  /** How the image is built. */
  build: buildSchema,
  /** Patches against upstream, each dropped once upstream ships the fix. @default [] */
  patches: z.array(patchSchema).default([]),
  /** Commands run inside the built image before anything is published. @default [] */
  test: z.array(testSchema).default([]),
  /** Where and how the image is published. */
  publish: publishSchema.default({ tags: 'semver' }),
  /**
   * Variants built from this recipe into the same repository, each with its tags suffixed
   * (`1.2.3-r0-dev`, `1.2-dev`, `latest-dev`): `[dev]` for the built-in `dev` (busybox-static's
   * shell and tools, runs as root), or a map of name to what the variant changes. Builder
   * `debian` only. @example variants: [dev]
   */
  variants: z
    .union([z.array(variantNameSchema).min(1), z.record(variantNameSchema, variantSchema)])
    .optional(),
});

/** What a variant recipe (expanded by src/recipe/variants.ts) says about where it comes from. */
export interface VariantOf {
  /** The variant's name, e.g. `dev`: every tag gets `-<name>` appended. */
  name: string;
  /** The recipe it was expanded from. */
  of: string;
}

/** What one stream's effective recipe says about the stream it was resolved for. */
export interface StreamOf {
  /** The stream's name: its only entry in `versions.streams`. */
  name: string;
  /**
   * Under which name its releases are watched and looked up: the recipe's name when the stream
   * tracks the first stream's upstream, else `<name>#<stream>`.
   */
  releaseKey: string;
}

/**
 * A recipe; a variant expanded from one (src/recipe/variants.ts) also names its origin, and one
 * stream's effective recipe (src/recipe/streams.ts) the stream it was resolved for.
 */
export type Recipe = z.infer<typeof recipeSchema> & {
  variant?: VariantOf | undefined;
  /** Set on a stream's effective recipe (src/recipe/streams.ts): which stream, where its releases are. */
  stream?: StreamOf | undefined;
};
export type RecipeVariant = z.infer<typeof variantSchema>;
export type RecipeUpstream = z.infer<typeof upstreamSchema>;
export type RecipeVersions = z.infer<typeof versionsSchema>;
export type RecipeBuild = z.infer<typeof buildSchema>;
export type RecipeContents = z.infer<typeof contentsSchema>;
export type RecipeFile = z.infer<typeof fileSchema>;
export type RecipeTest = z.infer<typeof testSchema>;
export type RecipePatch = z.infer<typeof patchSchema>;
export type RecipePublish = z.infer<typeof publishSchema>;
