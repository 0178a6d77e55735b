import { describe, expect, it } from 'vitest';
import { recipeSchema, type Recipe } from '../recipe/schema.ts';
import { inputsDigest } from './inputs-digest.ts';

const recipe: Recipe = recipeSchema.parse({
  name: 'tool',
  description: 'a tool',
  license: 'MIT',
  upstream: { npm: 'tool', 'strip-prefix': 'v' },
  versions: { cooldown: '6h' },
  build: { builder: 'dockerfile', archs: ['amd64', 'arm64'] },
  patches: [{ file: 'fix.patch', reason: 'bug', until: '2.0.0' }],
});
const base = {
  recipe,
  version: '1.0.0',
  builderVersion: 'dockerfile/1',
  resolved: { amd64: 'sha256:aa', arm64: 'sha256:bb' },
};

describe('inputsDigest', () => {
  it('is a sha256 digest, stable under key order', () => {
    const d = inputsDigest(base);
    expect(d).toMatch(/^sha256:[a-f0-9]{64}$/);
    expect(inputsDigest({ ...base, resolved: { arm64: 'sha256:bb', amd64: 'sha256:aa' } })).toBe(d);
  });

  it('changes with the version, the lockfile, the artifacts, the builder and the build block', () => {
    const d = inputsDigest(base);
    expect(inputsDigest({ ...base, version: '1.0.1' })).not.toBe(d);
    expect(
      inputsDigest({ ...base, resolved: { amd64: 'sha256:cc', arm64: 'sha256:bb' } }),
    ).not.toBe(d);
    expect(inputsDigest({ ...base, artifacts: { 'tool.tgz': 'sha256:11' } })).not.toBe(d);
    expect(inputsDigest({ ...base, builderVersion: 'dockerfile/2' })).not.toBe(d);
    expect(
      inputsDigest({
        ...base,
        recipe: { ...recipe, build: { ...recipe.build, archs: ['amd64'] } },
      }),
    ).not.toBe(d);
    expect(inputsDigest({ ...base, localFiles: { 'fix.patch': 'sha256:22' } })).not.toBe(d);
  });

  it('ignores what does not shape the bytes: cooldown, extraction, tests, publish', () => {
    const d = inputsDigest(base);
    const other: Recipe = {
      ...recipe,
      versions: { ...recipe.versions, cooldown: '1d' },
      upstream: { ...recipe.upstream, 'strip-prefix': 'release-' },
      test: [{ run: ['tool', '--version'] }],
      publish: { tags: 'exact', repository: 'x/tool' },
    };
    expect(inputsDigest({ ...base, recipe: other })).toBe(d);
  });

  it('drops a patch once the version has the fix', () => {
    const noPatch: Recipe = { ...recipe, patches: [] };
    expect(inputsDigest({ ...base, version: '2.0.0' })).toBe(
      inputsDigest({ ...base, version: '2.0.0', recipe: noPatch }),
    );
    expect(inputsDigest(base)).not.toBe(inputsDigest({ ...base, recipe: noPatch }));
  });
});
