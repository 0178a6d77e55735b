import semver from 'semver';
import { schemeOf } from '../versioning/scheme.ts';
import type { Selection } from '../versioning/select.ts';
import { normalizeStreams } from '../versioning/streams.ts';
import { dockerfilePathFindings } from './dockerfile-paths.ts';
import type { Finding } from './issues.ts';
import type { Recipe } from './schema.ts';
import { streamContentFindings } from './stream-checks.ts';
import { variantFindings } from './variant-checks.ts';

/*
 * Checks that need more than one field, run after the schema accepted the recipe. With a
 * selection (upstream data at hand) they also compare patches and streams with real releases.
 */

export function semanticFindings(recipe: Recipe, selection?: Selection): Finding[] {
  return [
    ...streamFindings(recipe, selection),
    ...patchFindings(recipe, selection),
    ...dockerfilePathFindings(recipe),
    ...variantFindings(recipe),
    ...streamContentFindings(recipe),
  ];
}

function streamFindings(recipe: Recipe, selection: Selection | undefined): Finding[] {
  const specs = recipe.versions.streams;
  if (!specs) return [];
  const findings: Finding[] = [];
  const streams = normalizeStreams(specs);
  const seen = new Map<string, number>();
  streams.forEach((stream, i) => {
    const first = seen.get(stream.name);
    if (first !== undefined) {
      findings.push({
        path: ['versions', 'streams', i],
        anchor: 'value',
        message: `versions.streams[${i}]: duplicate stream name \`${stream.name}\` (also streams[${first}])`,
      });
    } else {
      seen.set(stream.name, i);
    }
    for (let j = 0; j < i; j++) {
      const other = streams[j];
      if (
        other &&
        other.name !== stream.name &&
        semver.intersects(other.range, stream.range, { includePrerelease: true })
      ) {
        findings.push({
          path: ['versions', 'streams', i],
          anchor: 'value',
          message: `versions.streams[${i}]: range ${JSON.stringify(stream.range)} overlaps streams[${j}] ${JSON.stringify(other.range)}: a version would belong to both`,
        });
      }
    }
    const picked = selection?.streams[i];
    if (selection && picked && !picked.selected && picked.cooling.length === 0) {
      findings.push({
        path: ['versions', 'streams', i],
        anchor: 'value',
        message: `versions.streams[${i}]: no released version matches ${JSON.stringify(stream.range)}`,
      });
    }
  });
  return findings;
}

function patchFindings(recipe: Recipe, selection: Selection | undefined): Finding[] {
  const scheme = schemeOf(recipe.versions.scheme);
  const streams = normalizeStreams(recipe.versions.streams);
  const findings: Finding[] = [];
  recipe.patches.forEach((patch, i) => {
    if (patch.until === undefined) return;
    const path = ['patches', i, 'until'];
    const label = `patches[${i}].until`;
    const until = scheme.normalize(patch.until);
    if (until === undefined) {
      findings.push({
        path,
        anchor: 'value',
        message: `${label}: ${JSON.stringify(patch.until)} is not a ${scheme.id} version`,
      });
      return;
    }
    // The lowest version any stream can track: if even that has the fix, the patch is dead weight.
    const floors = streams.map((s) => semver.minVersion(s.range));
    if (floors.every((f) => f !== null && semver.gte(f, scheme.rangeProxy(until)))) {
      findings.push({
        path,
        anchor: 'value',
        message: `${label}: every stream starts at or above ${patch.until}, which has the fix: drop the patch`,
      });
      return;
    }
    const tracked = selection?.streams.map((s) => s.selected?.version);
    if (
      tracked &&
      tracked.length > 0 &&
      tracked.every((v) => v !== undefined && scheme.compare(v, until) >= 0)
    ) {
      const lowest = tracked.reduce((a, b) =>
        a !== undefined && b !== undefined && scheme.compare(a, b) <= 0 ? a : b,
      );
      findings.push({
        path,
        anchor: 'value',
        message: `${label}: upstream fixed this in ${patch.until} and the tracked version is ${lowest ?? '?'}: drop the patch`,
      });
    }
  });
  return findings;
}
