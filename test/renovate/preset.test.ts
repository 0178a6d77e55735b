import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { computeTags } from '../../src/plan/tags.ts';

/*
 * The preset's patterns, compiled as Renovate compiles them without re2 (JavaScript RegExp with
 * named groups), over kiln's tags. scripts/check-renovate-preset.sh runs Renovate's own code over
 * the same file; this test keeps the patterns honest in the suite without installing Renovate.
 */

const ruleSchema = z.object({
  description: z.string(),
  matchDatasources: z.array(z.string()),
  matchPackageNames: z.array(z.string()),
  matchCurrentValue: z.string(),
  versioning: z.string(),
});
const preset = z
  .object({ description: z.string(), packageRules: z.array(ruleSchema) })
  .parse(JSON.parse(readFileSync('renovate/kiln.json', 'utf8')));

const patterns = preset.packageRules.map((rule) => rule.versioning.replace(/^regex:/, ''));
const regexes = patterns.map((p) => new RegExp(p));
const ruleNames = ['exact', 'dev', 'build', 'dev-build'] as const;

interface Groups {
  rule: (typeof ruleNames)[number];
  major?: string;
  minor?: string;
  patch?: string;
  build?: string;
  compatibility?: string;
}

/** The one rule whose pattern matches `tag`, with its groups; undefined when none does. */
function match(tag: string): Groups | undefined {
  const hits = regexes.flatMap((re, i) => {
    const m = re.exec(tag);
    return m?.groups ? [{ i, groups: m.groups }] : [];
  });
  if (hits.length > 1) throw new Error(`${tag} matches ${hits.length} rules`);
  const hit = hits[0];
  if (!hit) return undefined;
  const out: Groups = { rule: ruleNames[hit.i] ?? 'exact' };
  for (const key of ['major', 'minor', 'patch', 'build', 'compatibility'] as const) {
    const value = hit.groups[key];
    if (value !== undefined) out[key] = value;
  }
  return out;
}

describe('renovate/kiln.json', () => {
  it('has one rule per tag shape, each scoped to the docker datasource and the argument', () => {
    expect(preset.packageRules).toHaveLength(4);
    for (const [i, rule] of preset.packageRules.entries()) {
      expect(rule.matchDatasources).toEqual(['docker']);
      expect(rule.matchPackageNames).toEqual(['{{arg0}}']);
      expect(rule.versioning).toMatch(/^regex:\^/);
      // The rule is chosen by the same pattern it versions with.
      expect(rule.matchCurrentValue).toBe(`/${patterns[i]}/`);
    }
  });

  it('uses only what re2 accepts and only the groups Renovate reads', () => {
    for (const p of patterns) {
      expect(p).not.toMatch(/\(\?<?[=!]/); // lookahead, lookbehind
      expect(p).not.toMatch(/\\[1-9]|\\k</); // backreferences
      const groups = [...p.matchAll(/\(\?<([a-z]+)>/g)].map((m) => m[1]);
      expect(groups).toEqual(['major', 'minor', 'patch', 'compatibility', 'build']);
      expect(p.startsWith('^') && p.endsWith('$')).toBe(true);
    }
  });

  it.each<[string, Groups]>([
    ['1.2.3-r0', { rule: 'exact', major: '1', minor: '2', patch: '3', build: '0' }],
    ['1.2.3-r10', { rule: 'exact', major: '1', minor: '2', patch: '3', build: '10' }],
    ['2024.10-r3', { rule: 'exact', major: '2024', minor: '10', build: '3' }],
    ['7-r1', { rule: 'exact', major: '7', build: '1' }],
    [
      '3.13.5-2-r4',
      { rule: 'exact', major: '3', minor: '13', patch: '5', build: '4', compatibility: '-2' },
    ],
    [
      '3.11.2-6_deb12u6-r0',
      {
        rule: 'exact',
        major: '3',
        minor: '11',
        patch: '2',
        build: '0',
        compatibility: '-6_deb12u6',
      },
    ],
    [
      '13.8_deb13u1-r2',
      { rule: 'exact', major: '13', minor: '8', build: '2', compatibility: '_deb13u1' },
    ],
    [
      '2.0.0-rc.1-r0',
      { rule: 'exact', major: '2', minor: '0', patch: '0', build: '0', compatibility: '-rc.1' },
    ],
    ['1.2.3-r0-dev', { rule: 'dev', major: '1', minor: '2', patch: '3', build: '0' }],
    [
      '3.13.5-2-r4-dev',
      { rule: 'dev', major: '3', minor: '13', patch: '5', build: '4', compatibility: '-2' },
    ],
    ['1.2.3-r1-202612011030', { rule: 'build', major: '1', minor: '2', patch: '3', build: '1' }],
    [
      '1.2.3-r1-dev-202612011030',
      { rule: 'dev-build', major: '1', minor: '2', patch: '3', build: '1' },
    ],
    [
      '1.2.3-r1-202612011030-dev',
      { rule: 'dev-build', major: '1', minor: '2', patch: '3', build: '1' },
    ],
  ])('%s: the epoch is the build group', (tag, groups) => {
    expect(match(tag)).toEqual(groups);
  });

  it.each([
    // kiln's floating tags: left to Renovate's docker versioning (digest pinning follows them)
    '1.2.3',
    '1.2',
    '1',
    'latest',
    '1.2-dev',
    'latest-dev',
    // not kiln's shapes
    'v1.2.3-r1',
    '1.2.3-rc1',
    '1.2.3-r',
    '1.2.3-alpine',
    'bookworm-slim',
    '1.2.3-r1-20261201',
    '1.2.3-r1-dev-dev',
    'sha256-0123abcd.sig',
  ])('%s matches no rule', (tag) => {
    expect(match(tag)).toBeUndefined();
  });

  it("matches the exact tag kiln's tag policy computes, and none of its floating tags", () => {
    for (const [version, epoch, scheme] of [
      ['1.2.3', 7, 'semver'],
      ['3.11.2-6+deb12u6', 0, 'debian'],
      ['2024.10.1', 2, 'loose'],
    ] as const) {
      const [exact, ...floating] = computeTags({
        version,
        epoch,
        scheme,
        known: [],
        highestStream: true,
        policy: 'semver',
      });
      expect(match(exact ?? '')).toMatchObject({ rule: 'exact', build: String(epoch) });
      expect(match(`${exact}-dev`)).toMatchObject({ rule: 'dev', build: String(epoch) });
      expect(match(`${exact}-202612011030`)).toMatchObject({ rule: 'build' });
      for (const tag of floating.filter((t) => !/-r\d+$/.test(t)))
        expect(match(tag)).toBeUndefined();
    }
  });
});
