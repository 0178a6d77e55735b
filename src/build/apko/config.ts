import { z } from 'zod';
import { PermanentError } from '../../errors.ts';
import type { Recipe } from '../../recipe/schema.ts';

/*
 * A recipe's image section as an apko configuration. The schema below is kiln's own statement of
 * the apko fields it writes, taken from apko's documented image configuration (its file-format
 * reference and published JSON schema): the generated config is checked against it before apko
 * ever sees it, so a mistake here is a kiln error with a path, not an apko parse failure.
 */

const stringList = z.array(z.string());

export const apkoConfigSchema = z.strictObject({
  contents: z.strictObject({
    repositories: stringList.min(1),
    keyring: stringList.optional(),
    packages: stringList.min(1),
  }),
  entrypoint: z.strictObject({ command: z.string().min(1) }).optional(),
  /** One string: apko splits it with shell-like word rules. */
  cmd: z.string().optional(),
  'work-dir': z.string().optional(),
  accounts: z
    .strictObject({
      'run-as': z.string().optional(),
      users: z
        .array(
          z.strictObject({
            username: z.string(),
            uid: z.number().int(),
            gid: z.number().int(),
            homedir: z.string().optional(),
          }),
        )
        .optional(),
      groups: z
        .array(
          z.strictObject({ groupname: z.string(), gid: z.number().int(), members: stringList }),
        )
        .optional(),
    })
    .optional(),
  archs: z
    .array(
      z.enum([
        '386',
        'amd64',
        'arm64',
        'arm/v6',
        'arm/v7',
        'ppc64le',
        'riscv64',
        's390x',
        'loong64',
      ]),
    )
    .min(1),
  environment: z.record(z.string(), z.string()).optional(),
  paths: z
    .array(
      z.strictObject({
        path: z.string(),
        type: z.enum(['directory', 'empty-file', 'hardlink', 'symlink', 'permissions']),
        source: z.string().optional(),
        uid: z.number().int().optional(),
        gid: z.number().int().optional(),
        permissions: z.number().int().min(0).max(0o7777).optional(),
        recursive: z.boolean().optional(),
      }),
    )
    .optional(),
  annotations: z.record(z.string(), z.string()).optional(),
});

export type ApkoConfig = z.infer<typeof apkoConfigSchema>;

/** Debian arch names → apko's `archs` values. */
export function apkoArch(arch: string): ApkoConfig['archs'][number] {
  const map: Record<string, ApkoConfig['archs'][number]> = {
    amd64: 'amd64',
    arm64: 'arm64',
    armhf: 'arm/v7',
    ppc64el: 'ppc64le',
    s390x: 's390x',
    riscv64: 'riscv64',
  };
  const out = map[arch];
  if (!out) throw new PermanentError(`apko cannot build for ${arch}`);
  return out;
}

/** The name apko gives an arch in its SBOM file names (`sbom-<arch>.spdx.json`). */
export function apkArchName(arch: string): string {
  const map: Record<string, string> = {
    amd64: 'x86_64',
    arm64: 'aarch64',
    armhf: 'armv7',
    ppc64el: 'ppc64le',
    s390x: 's390x',
    riscv64: 'riscv64',
  };
  return map[arch] ?? arch;
}

/** Quotes one argument so apko's shell-like splitting gives it back unchanged. */
export function shellWord(value: string): string {
  if (value !== '' && /^[A-Za-z0-9_\-+=.,/:@%]+$/.test(value)) return value;
  return `'${value.replaceAll("'", `'"'"'`)}'`;
}

type BuildSection = Recipe['build'];

/** Builds the apko configuration for a recipe; throws a PermanentError naming a bad field. */
export function apkoConfigFor(
  recipe: Recipe,
  archs: readonly string[],
  annotations: Record<string, string>,
): ApkoConfig {
  const build = recipe.build;
  const apko = build.apko;
  if (!apko)
    throw new PermanentError(`recipe ${recipe.name}: the apko builder needs a build.apko section`);
  // The key order is the order of apko.yaml, whose digest is a build material: keep it.
  const config = {
    contents: {
      repositories: apko.repositories,
      ...(apko.keyring ? { keyring: apko.keyring } : {}),
      packages: apko.packages,
    },
    ...(build.entrypoint?.length
      ? { entrypoint: { command: build.entrypoint.map(shellWord).join(' ') } }
      : {}),
    ...(build.cmd?.length ? { cmd: build.cmd.map(shellWord).join(' ') } : {}),
    ...(build.workdir ? { 'work-dir': build.workdir } : {}),
    ...(build.accounts ? { accounts: accountsOf(build.accounts) } : {}),
    archs: archs.map(apkoArch),
    ...(build.env ? { environment: build.env } : {}),
    ...(apko.paths ? { paths: apko.paths.map(pathOf) } : {}),
    annotations: { ...build.annotations, ...annotations },
  };
  return checkedConfig(recipe, config);
}

function accountsOf(accounts: NonNullable<BuildSection['accounts']>) {
  return {
    'run-as': String(accounts['run-as']),
    ...(accounts.users
      ? {
          users: accounts.users.map((u) => ({
            username: u.name,
            uid: u.uid,
            gid: u.gid ?? u.uid,
            ...(u.home ? { homedir: u.home } : {}),
          })),
        }
      : {}),
    ...(accounts.groups
      ? {
          groups: accounts.groups.map((g) => ({
            groupname: g.name,
            gid: g.gid,
            members: g.members ?? [],
          })),
        }
      : {}),
  };
}

function pathOf(p: NonNullable<NonNullable<BuildSection['apko']>['paths']>[number]) {
  return {
    path: p.path,
    type: p.type,
    ...(p.source !== undefined ? { source: p.source } : {}),
    ...(p.uid !== undefined ? { uid: p.uid } : {}),
    ...(p.gid !== undefined ? { gid: p.gid } : {}),
    ...(p.permissions !== undefined ? { permissions: parseInt(p.permissions, 8) } : {}),
    ...(p.recursive !== undefined ? { recursive: p.recursive } : {}),
  };
}

/** The config, parsed by apko's schema: a bad field is refused naming its path. */
function checkedConfig(recipe: Recipe, config: unknown): ApkoConfig {
  const parsed = apkoConfigSchema.safeParse(config);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new PermanentError(
      `recipe ${recipe.name}: apko config field ${issue?.path.join('.') ?? '?'}: ${issue?.message ?? 'invalid'}`,
    );
  }
  return parsed.data;
}
