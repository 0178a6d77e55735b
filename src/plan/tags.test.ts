import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { schemeOf, type SchemeId } from '../versioning/scheme.ts';
import { computeTags, tagText, type TagInput } from './tags.ts';

const tags = (version: string, known: string[] = [], over: Partial<TagInput> = {}): string[] =>
  computeTags({
    version,
    epoch: 0,
    scheme: 'semver',
    known,
    highestStream: true,
    policy: 'semver',
    ...over,
  });

describe('computeTags', () => {
  it('gives exact, floating and latest for the newest version', () => {
    expect(tags('1.2.3', ['1.2.2', '1.1.0'])).toEqual(['1.2.3-r0', '1.2.3', '1.2', '1', 'latest']);
  });

  it('a backport moves its minor line only', () => {
    expect(tags('1.1.9', ['1.2.0', '1.1.8'])).toEqual(['1.1.9-r0', '1.1.9', '1.1']);
  });

  it('an out-of-order older release moves nothing floating', () => {
    expect(tags('1.2.1', ['1.2.2'])).toEqual(['1.2.1-r0', '1.2.1']);
  });

  it('a backport on an old major moves that major but not latest', () => {
    expect(tags('1.9.1', ['2.0.0', '1.9.0'])).toEqual(['1.9.1-r0', '1.9.1', '1.9', '1']);
  });

  it('latest only for the highest stream', () => {
    expect(tags('3.12.8', ['3.13.1'], { highestStream: false })).toEqual([
      '3.12.8-r0',
      '3.12.8',
      '3.12',
    ]);
    expect(tags('3.13.2', ['3.12.8', '3.13.1'])).toEqual([
      '3.13.2-r0',
      '3.13.2',
      '3.13',
      '3',
      'latest',
    ]);
    expect(tags('3.13.2', [], { highestStream: false })).not.toContain('latest');
  });

  it('prereleases get only exact tags', () => {
    expect(tags('2.0.0-rc.1')).toEqual(['2.0.0-rc.1-r0', '2.0.0-rc.1']);
  });

  it('a published prerelease does not hold floating tags back', () => {
    expect(tags('1.2.9', ['1.3.0-rc.1'])).toEqual(['1.2.9-r0', '1.2.9', '1.2', '1', 'latest']);
  });

  it('epochs go into the exact tag', () => {
    expect(tags('1.2.3', ['1.2.3'], { epoch: 4 })[0]).toBe('1.2.3-r4');
  });

  it('exact policy moves no floating tags', () => {
    expect(tags('1.2.3', [], { policy: 'exact' })).toEqual(['1.2.3-r0', '1.2.3']);
  });

  it('four-part versions float on three, two and one parts', () => {
    expect(tags('1.2.3.4', ['1.2.3.3'], { scheme: 'loose' })).toEqual([
      '1.2.3.4-r0',
      '1.2.3.4',
      '1.2.3',
      '1.2',
      '1',
      'latest',
    ]);
    expect(tags('1.2.3.4', ['1.2.3.10'], { scheme: 'loose' })).toEqual(['1.2.3.4-r0', '1.2.3.4']);
  });

  it('loose versions keep their own spelling', () => {
    expect(tags('2024.10.1', [], { scheme: 'loose' })).toEqual([
      '2024.10.1-r0',
      '2024.10.1',
      '2024.10',
      '2024',
      'latest',
    ]);
  });

  it('Debian versions: tag-safe text, epochs order above everything', () => {
    expect(tags('1:2.0-1', ['3.0-1'], { scheme: 'debian' })).toEqual([
      '1_2.0-1-r0',
      '1_2.0-1',
      '2.0',
      '2',
      'latest',
    ]);
    expect(tags('3.0-2', ['1:2.0-1', '3.0-1'], { scheme: 'debian' })).toEqual([
      '3.0-2-r0',
      '3.0-2',
      '3.0',
      '3',
    ]);
    expect(tags('3.11.2-6+deb12u1', ['3.11.2-6'], { scheme: 'debian' })).toEqual([
      '3.11.2-6_deb12u1-r0',
      '3.11.2-6_deb12u1',
      '3.11.2',
      '3.11',
      '3',
      'latest',
    ]);
  });

  it('tagText keeps tags within the OCI alphabet', () => {
    expect(tagText('2:1.0~rc1-1+b1')).toBe('2_1.0_rc1-1_b1');
  });
});

/*
 * Property: publish random versions in a random order, moving the tags computeTags returns.
 * After every step each floating tag points at the highest release version that shares it,
 * and no floating tag ever moved to a lower version than it held.
 */
describe('tag policy (property)', () => {
  const version = fc.tuple(
    fc.integer({ min: 0, max: 3 }),
    fc.integer({ min: 0, max: 3 }),
    fc.integer({ min: 0, max: 3 }),
    fc.boolean(),
  );
  const run = (scheme: SchemeId, render: (v: [number, number, number, boolean]) => string) =>
    fc.assert(
      fc.property(fc.array(version, { minLength: 1, maxLength: 25 }), (raw) => {
        const s = schemeOf(scheme);
        const versions = raw.map(render).map((v) => s.normalize(v) ?? v);
        const registry = new Map<string, string>();
        const published: string[] = [];
        for (const v of versions) {
          const known = [...published, v];
          const out = computeTags({
            version: v,
            epoch: 0,
            scheme,
            known,
            highestStream: true,
            policy: 'semver',
          });
          for (const tag of out.slice(2)) {
            const before = registry.get(tag);
            if (before !== undefined && s.compare(v, before) < 0) return false;
            registry.set(tag, v);
          }
          published.push(v);
          const releases = published.filter((p) => !s.isPrerelease(p));
          const top = releases.reduce<string | undefined>(
            (a, b) => (a === undefined || s.compare(b, a) > 0 ? b : a),
            undefined,
          );
          if (
            top !== undefined &&
            registry.get('latest') !== undefined &&
            s.compare(registry.get('latest') ?? '', top) !== 0
          )
            return false;
        }
        return true;
      }),
      { numRuns: 300 },
    );

  it('semver: floating tags and latest never move backwards', () => {
    run('semver', ([a, b, c, pre]) => `${a}.${b}.${c}${pre ? '-rc.1' : ''}`);
  });

  it('loose four-part versions: the same', () => {
    run('loose', ([a, b, c, pre]) => `${a}.${b}.${c}.${pre ? 1 : 0}`);
  });

  it('debian with epochs: the same', () => {
    run('debian', ([a, b, c, pre]) => `${pre ? '1:' : ''}${a}.${b}-${c}`);
  });
});
