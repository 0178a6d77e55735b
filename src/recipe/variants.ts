import type { Recipe, RecipeTest, RecipeVariant } from './schema.ts';

/*
 * Variants: one recipe file, several images in one repository. Each variant is expanded into a
 * recipe of its own (`<name>-<variant>`) so that planning, the inputs digest, epochs, job ids and
 * the catalog treat it as an image on its own; only its tags (suffixed) and its repository (the
 * main image's) say where it belongs.
 */

/** Debian's statically linked busybox: a shell and tools in one 2 MB file with no dependencies. */
export const busyboxPackage = 'busybox-static';

/**
 * Applets linked to busybox in a variant that has it (Debian's package installs only the
 * binary): a shell and the tools one reaches for when debugging a container.
 */
export const busyboxApplets = [
  'sh',
  'ash',
  'cat',
  'cp',
  'mv',
  'rm',
  'ln',
  'ls',
  'mkdir',
  'rmdir',
  'touch',
  'chmod',
  'chown',
  'pwd',
  'echo',
  'printf',
  'env',
  'id',
  'whoami',
  'ps',
  'kill',
  'sleep',
  'grep',
  'sed',
  'find',
  'xargs',
  'head',
  'tail',
  'wc',
  'sort',
  'cut',
  'tr',
  'less',
  'vi',
  'wget',
  'nslookup',
  'uname',
  'hostname',
  'date',
  'df',
  'du',
  'free',
  'top',
  'stat',
  'readlink',
  'tee',
  'test',
  'true',
  'false',
  'basename',
  'dirname',
] as const;

/** The built-in variants, usable as `variants: [<name>]`; a map entry's fields replace these. */
export const builtinVariants: Readonly<
  Record<string, Required<Pick<RecipeVariant, 'packages' | 'run-as' | 'shell'>>>
> = {
  dev: { packages: [busyboxPackage], 'run-as': 'root', shell: '/bin/sh' },
};

/** The variants a recipe declares, by name, with the built-in defaults filled in. */
export function declaredVariants(recipe: Recipe): Map<string, RecipeVariant> {
  const spec = recipe.variants;
  if (!spec) return new Map();
  const entries: [string, RecipeVariant][] = Array.isArray(spec)
    ? spec.map((name) => [name, {}])
    : Object.entries(spec);
  return new Map(
    entries.map(([name, given]) => {
      const builtin = builtinVariants[name];
      if (!builtin) return [name, given];
      return [
        name,
        {
          ...builtin,
          ...given,
          // `dev` keeps its shell: extra packages come on top of busybox.
          packages: unique([...builtin.packages, ...(given.packages ?? [])]),
        },
      ];
    }),
  );
}

/** The name a variant recipe has in plans, job ids and the catalog. */
export function variantRecipeName(recipe: string, variant: string): string {
  return `${recipe}-${variant}`;
}

/** `-dev` for a variant recipe, `` for a main one: appended to every tag. */
export function tagSuffix(recipe: Pick<Recipe, 'variant'>): string {
  return recipe.variant ? `-${recipe.variant.name}` : '';
}

/** Every variant recipe of a recipe, in declaration order (the main recipe not included). */
export function expandVariants(recipe: Recipe): Recipe[] {
  return [...declaredVariants(recipe)].map(([name, variant]) =>
    variantRecipe(recipe, name, variant),
  );
}

/** One variant as a recipe: the same contents plus its packages, its user, its tests. */
export function variantRecipe(recipe: Recipe, name: string, variant: RecipeVariant): Recipe {
  const build = recipe.build;
  const added = variant.packages ?? [];
  const contents = build.contents && {
    ...build.contents,
    packages: unique([...build.contents.packages, ...added]),
    // An exclude that would remove what the variant adds gives way to it.
    exclude: build.contents.exclude.filter((e) => !added.includes(e)),
  };
  const links = added.includes(busyboxPackage)
    ? busyboxApplets.map((applet) => ({
        path: `/usr/bin/${applet}`,
        type: 'symlink' as const,
        source: 'busybox',
      }))
    : [];
  const paths = [
    ...(build.paths ?? []).filter((p) => !links.some((l) => l.path === p.path)),
    ...links,
  ];
  const skipped = new Set(variant['skip-tests'] ?? []);
  const shellTest: RecipeTest[] = variant.shell
    ? [
        {
          name: `${name} variant has a shell`,
          run: [variant.shell, '-c', 'echo ok'],
          'expect-output': 'ok',
        },
      ]
    : [];
  return {
    ...recipe,
    // A variant declares no variants of its own.
    variants: undefined,
    name: variantRecipeName(recipe.name, name),
    variant: { name, of: recipe.name },
    build: {
      ...build,
      ...(contents ? { contents } : {}),
      ...(paths.length > 0 ? { paths } : {}),
      ...(variant['run-as'] !== undefined
        ? { accounts: { ...build.accounts, 'run-as': variant['run-as'] } }
        : {}),
    },
    test: [
      ...recipe.test.filter((t) => t.name === undefined || !skipped.has(t.name)),
      ...shellTest,
      ...(variant.test ?? []),
    ],
    publish: { ...recipe.publish, repository: recipe.publish.repository ?? recipe.name },
  };
}

function unique(values: readonly string[]): string[] {
  return [...new Set(values)];
}
