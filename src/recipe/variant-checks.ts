import type { Finding } from './issues.ts';
import type { Recipe } from './schema.ts';
import { builtinVariants } from './variants.ts';

/** `variants` problems the schema cannot see: builder, built-in names, tests, what it adds. */
export function variantFindings(recipe: Recipe): Finding[] {
  const spec = recipe.variants;
  if (!spec) return [];
  const findings: Finding[] = [];
  if (recipe.build.builder !== 'debian') {
    const how =
      recipe.build.builder === 'dockerfile'
        ? 'a Dockerfile builds its shell variant as a stage of its own: give it a recipe with `dockerfile.target` and `dockerfile.shell: true`'
        : 'add the shell to `apko.packages` in a recipe of its own';
    findings.push({
      path: ['variants'],
      anchor: 'key',
      message: `variants: only the debian builder makes variants (this recipe uses ${recipe.build.builder}); ${how}`,
    });
    return findings;
  }
  const known = Object.keys(builtinVariants);
  if (Array.isArray(spec)) {
    spec.forEach((name, i) => {
      if (!(name in builtinVariants))
        findings.push({
          path: ['variants', i],
          anchor: 'value',
          message: `variants[${i}]: \`${name}\` is not a built-in variant (${known.join(', ')}); declare it as a map: variants: { ${name}: { packages: [...] } }`,
        });
      const first = spec.indexOf(name);
      if (first < i)
        findings.push({
          path: ['variants', i],
          anchor: 'value',
          message: `variants[${i}]: \`${name}\` is listed twice (also variants[${first}])`,
        });
    });
    return findings;
  }
  const testNames = new Set(recipe.test.flatMap((t) => (t.name === undefined ? [] : [t.name])));
  for (const [name, variant] of Object.entries(spec)) {
    if (!(name in builtinVariants) && (variant.packages ?? []).length === 0)
      findings.push({
        path: ['variants', name],
        anchor: 'key',
        message: `variants.${name}: a variant other than ${known.join(', ')} needs \`packages\` (it would be the same image)`,
      });
    (variant['skip-tests'] ?? []).forEach((skipped, i) => {
      if (!testNames.has(skipped))
        findings.push({
          path: ['variants', name, 'skip-tests', i],
          anchor: 'value',
          message: `variants.${name}.skip-tests[${i}]: no test is named ${JSON.stringify(skipped)} (tests: ${[...testNames].join(', ') || 'none named'})`,
        });
    });
  }
  return findings;
}
