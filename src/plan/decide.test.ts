import { describe, expect, it } from 'vitest';
import type { LoadedRecipe } from '../recipe/load.ts';
import { recipeSchema } from '../recipe/schema.ts';
import type { UpstreamRelease } from '../versioning/release.ts';
import { selectVersions } from '../versioning/select.ts';
import { planRecipe, type Decision } from './decide.ts';
import type { PublishedImage } from './published-state.ts';

const now = new Date('2025-06-01T00:00:00Z');
const loaded = (versions: Record<string, unknown> = {}): LoadedRecipe => ({
  file: '/recipes/python.yaml',
  recipe: recipeSchema.parse({
    name: 'python',
    description: 'python',
    license: 'PSF-2.0',
    upstream: { github: 'python/cpython', use: 'tags' },
    versions,
    build: { builder: 'dockerfile', archs: ['amd64', 'arm64'] },
  }),
});
const rel = (version: string, publishedAt = '2025-01-01T00:00:00Z'): UpstreamRelease => ({
  version,
  tag: `v${version}`,
  publishedAt,
  prerelease: false,
  url: `https://example.invalid/${version}`,
});
const img = (
  version: string,
  epoch: number,
  inputsDigest: string,
  tags: string[] = [],
): PublishedImage => ({ version, epoch, inputsDigest, tags, digest: `sha256:${'1'.repeat(64)}` });

function plan(
  versions: Record<string, unknown>,
  releases: UpstreamRelease[],
  published: PublishedImage[],
  digest = 'sha256:d',
): Decision[] {
  const l = loaded(versions);
  const selection = selectVersions(
    releases,
    { versions: l.recipe.versions, upstream: l.recipe.upstream },
    now,
  );
  return planRecipe({ loaded: l, selection, published, digestOf: () => digest, now });
}
const brief = (ds: Decision[]) =>
  ds.map((d) => [
    d.stream,
    d.kind,
    'version' in d ? d.version : undefined,
    'epoch' in d ? d.epoch : undefined,
    'tags' in d ? d.tags : undefined,
  ]);

describe('planRecipe', () => {
  it('builds a new upstream version at r0 with the full tag set', () => {
    const ds = plan({}, [rel('3.12.7'), rel('3.12.6')], [img('3.12.6', 0, 'sha256:old')]);
    expect(brief(ds)).toEqual([
      ['default', 'build', '3.12.7', 0, ['3.12.7-r0', '3.12.7', '3.12', '3', 'latest']],
    ]);
    const d = ds[0];
    if (d?.kind !== 'build') throw new Error('expected build');
    expect(d.request).toMatchObject({
      recipe: 'python',
      recipeFile: '/recipes/python.yaml',
      archs: ['amd64', 'arm64'],
      repository: 'python',
      priority: 'upstream',
      reason: 'new upstream 3.12.7',
      upstream: { tag: 'v3.12.7' },
    });
  });

  it('is up to date when the same inputs are published', () => {
    expect(brief(plan({}, [rel('1.0.0')], [img('1.0.0', 2, 'sha256:d', ['1.0.0-r2'])]))).toEqual([
      ['default', 'up-to-date', '1.0.0', 2, ['1.0.0-r2']],
    ]);
  });

  it('bumps the epoch when the inputs change (nano update)', () => {
    const ds = plan({}, [rel('1.0.0')], [img('1.0.0', 0, 'sha256:a'), img('1.0.0', 1, 'sha256:b')]);
    expect(brief(ds)).toEqual([
      ['default', 'build', '1.0.0', 2, ['1.0.0-r2', '1.0.0', '1.0', '1', 'latest']],
    ]);
    expect(ds[0]?.reason).toBe('inputs changed for 1.0.0 (r1 → r2)');
  });

  it('two streams: each its own line, latest only on the highest', () => {
    const ds = plan(
      { streams: ['3.12', '3.13'] },
      [rel('3.12.7'), rel('3.13.1'), rel('3.13.0')],
      [],
    );
    expect(brief(ds)).toEqual([
      ['3.12', 'build', '3.12.7', 0, ['3.12.7-r0', '3.12.7', '3.12']],
      ['3.13', 'build', '3.13.1', 0, ['3.13.1-r0', '3.13.1', '3.13', '3', 'latest']],
    ]);
  });

  it('a backport in the lower stream, the higher one up to date', () => {
    const ds = plan(
      { streams: ['3.12', '3.13'] },
      [rel('3.12.8'), rel('3.13.1')],
      [img('3.13.1', 0, 'sha256:d')],
    );
    expect(brief(ds)[0]).toEqual(['3.12', 'build', '3.12.8', 0, ['3.12.8-r0', '3.12.8', '3.12']]);
    expect(ds[1]?.kind).toBe('up-to-date');
  });

  it('holds a release inside the cooldown', () => {
    const ds = plan({ cooldown: '1d' }, [rel('1.1.0', '2025-05-31T12:00:00Z')], []);
    expect(ds[0]).toMatchObject({
      kind: 'held',
      heldVersion: '1.1.0',
      until: '2025-06-01T12:00:00.000Z',
    });
    const up = plan(
      { cooldown: '1d' },
      [rel('1.0.0'), rel('1.1.0', '2025-05-31T12:00:00Z')],
      [img('1.0.0', 0, 'sha256:d')],
    );
    expect(up[0]).toMatchObject({ kind: 'held', version: '1.0.0', heldVersion: '1.1.0' });
  });

  it('reports a stream with no matching release as an error with the reason', () => {
    expect(plan({ streams: ['4.x'] }, [rel('3.0.0')], [])[0]).toMatchObject({
      kind: 'error',
      reason: 'no released version matches "4.x"',
    });
  });

  it('never rebuilds an older version when a newer one is published (withdrawn release)', () => {
    expect(plan({}, [rel('1.0.0')], [img('1.0.1', 0, 'sha256:x')])[0]).toMatchObject({
      kind: 'up-to-date',
      version: '1.0.1',
    });
  });

  it('a retagged release (new checksums) is a new epoch of the same version', () => {
    const ds = plan(
      {},
      [rel('1.0.0')],
      [img('1.0.0', 0, 'sha256:before-retag')],
      'sha256:after-retag',
    );
    expect(brief(ds)).toEqual([
      ['default', 'build', '1.0.0', 1, ['1.0.0-r1', '1.0.0', '1.0', '1', 'latest']],
    ]);
  });
});
