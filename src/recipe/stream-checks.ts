import { isDeepStrictEqual } from 'node:util';
import { normalizeStreams } from '../versioning/streams.ts';
import { pathLabel, type Finding } from './issues.ts';
import { upstreamSchema, type Recipe } from './schema.ts';
import { placeholderPaths, streamFields, streamPlaceholder, streamRecipe } from './streams.ts';
import { closest } from './suggest.ts';

/*
 * Lint of per-stream contents (src/recipe/streams.ts): each stream's effective recipe must be a
 * recipe the schema would accept, and every problem points at the field that holds `${stream}`
 * or at the stream's `upstream`.
 */

/** Placeholders other parts replace (`${version}` in tests and file URLs, `${arch}`…). */
const knownPlaceholders = ['stream', 'version', 'arch', 'triplet', 'loader'];

/** Debian's rule for a package name (Policy 5.6.1), with kiln's optional `=version` pin. */
const debianPackage = /^[a-z0-9][a-z0-9+.-]+(=\S+)?$/;

export function streamContentFindings(recipe: Recipe): Finding[] {
  const paths = placeholderPaths(recipe);
  const findings = [...typoFindings(recipe)];
  if (paths.length > 0 && !recipe.versions.streams) {
    for (const at of paths)
      findings.push({
        path: at,
        anchor: 'value',
        message: `${pathLabel(at)}: \`${streamPlaceholder}\` needs named streams in \`versions.streams\` (there is only the stream \`default\`)`,
      });
    return findings;
  }
  normalizeStreams(recipe.versions.streams).forEach((stream, i) => {
    const effective = streamRecipe(recipe, stream.name);
    findings.push(...packageFindings(paths, effective, stream.name));
    findings.push(...upstreamFindings(recipe, effective, paths, i));
  });
  return dedupe(findings);
}

/** A Debian package name that `${stream}` made invalid (`openjdk->=21-jre`). */
function packageFindings(paths: PropertyKey[][], effective: Recipe, stream: string): Finding[] {
  const out: Finding[] = [];
  for (const at of paths) {
    const label = pathLabel(at);
    const isPackage =
      /^build\.contents\.(packages|exclude)\[\d+\]$/.test(label) ||
      label === 'upstream.debian.package';
    if (!isPackage) continue;
    const value = valueAt(effective, at);
    if (typeof value === 'string' && !debianPackage.test(value))
      out.push({
        path: at,
        anchor: 'value',
        message: `${label}: in stream \`${stream}\` this is ${JSON.stringify(value)}, not a Debian package name (lowercase letters, digits, \`+\`, \`-\`, \`.\`): give the stream a name that fits`,
      });
  }
  return out;
}

/** The stream's upstream, as the schema would check it; an override that changes nothing. */
function upstreamFindings(
  recipe: Recipe,
  effective: Recipe,
  paths: PropertyKey[][],
  i: number,
): Finding[] {
  const spec = recipe.versions.streams?.[i];
  const name = effective.stream?.name ?? '';
  const overridden = typeof spec === 'object' && spec.upstream !== undefined;
  if (overridden) {
    const declared = streamRecipe({ ...recipe, versions: withoutOverride(recipe, i) }, name);
    if (isDeepStrictEqual(declared.upstream, spec.upstream))
      return [
        {
          path: ['versions', 'streams', i, 'upstream'],
          anchor: 'key',
          message: `versions.streams[${i}].upstream: the same as the recipe's \`upstream\` for stream \`${name}\`: drop it`,
        },
      ];
    return [];
  }
  const parsed = upstreamSchema.safeParse(effective.upstream);
  if (parsed.success) return [];
  const at = paths.find((p) => p[0] === 'upstream') ?? ['upstream'];
  return parsed.error.issues.slice(0, 1).map((issue) => ({
    path: at,
    anchor: 'value' as const,
    message: `${pathLabel(at)}: in stream \`${name}\`: ${pathLabel(['upstream', ...issue.path])}: ${issue.message}`,
  }));
}

function withoutOverride(recipe: Recipe, i: number): Recipe['versions'] {
  const streams = (recipe.versions.streams ?? []).map((s, j) =>
    j === i && typeof s === 'object' ? { name: s.name, range: s.range } : s,
  );
  return { ...recipe.versions, streams };
}

/** `${steam}`: a placeholder no part replaces, close to `${stream}`. */
function typoFindings(recipe: Recipe): Finding[] {
  const out: Finding[] = [];
  const walk = (value: unknown, at: PropertyKey[]): void => {
    if (typeof value === 'string') {
      for (const m of value.matchAll(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g)) {
        const word = m[1] ?? '';
        if (knownPlaceholders.includes(word) || closest(word, ['stream']) === undefined) continue;
        out.push({
          path: at,
          anchor: 'value',
          message: `${pathLabel(at)}: \`\${${word}}\` is not replaced by anything; did you mean \`${streamPlaceholder}\`?`,
        });
      }
    } else if (Array.isArray(value)) value.forEach((v, i) => walk(v, [...at, i]));
    else if (value !== null && typeof value === 'object')
      for (const [k, v] of Object.entries(value)) walk(v, [...at, k]);
  };
  for (const field of streamFields) walk(recipe[field], [field]);
  return out;
}

function valueAt(value: unknown, at: PropertyKey[]): unknown {
  let here = value;
  for (const key of at) {
    if (here === null || typeof here !== 'object') return undefined;
    here = (here as Record<PropertyKey, unknown>)[key];
  }
  return here;
}

function dedupe(findings: Finding[]): Finding[] {
  const seen = new Set<string>();
  return findings.filter((f) => {
    const key = `${pathLabel(f.path)}\0${f.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
