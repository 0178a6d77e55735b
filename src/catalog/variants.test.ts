import { describe, expect, it } from 'vitest';
import { sampleRecord } from '../../test/catalog/fixtures.ts';
import type { CatalogRecord } from './record.ts';
import { familyOf, groupFamilies, variantOfRecord } from './variants.ts';

const image = (overrides: Partial<CatalogRecord> & Pick<CatalogRecord, 'recipe'>) => ({
  name: overrides.recipe,
  latest: sampleRecord(overrides),
});

describe('catalog families', () => {
  const main = image({ recipe: 'static', tags: ['1.0-r0', '1.0', 'latest'] });
  // Recorded by this kiln: the record names its variant.
  const dev = image({
    recipe: 'static-dev',
    repository: 'static',
    tags: ['1.0-r0-dev', '1.0-dev', 'latest-dev'],
    variant: { name: 'dev', of: 'static' },
  });
  // Recorded before records named it: the exact tag's suffix says so.
  const debug = image({
    recipe: 'static-debug',
    repository: 'static',
    epoch: 3,
    tags: ['1.0-r3-debug', 'latest-debug'],
  });
  const other = image({ recipe: 'python', tags: ['3.13.5-r0', 'latest'] });
  // A variant whose main image is not published: an entry of its own.
  const lone = image({
    recipe: 'jq-dev',
    repository: 'jq',
    tags: ['1.7-r0-dev', 'latest-dev'],
    variant: { name: 'dev', of: 'jq' },
  });

  it('recognises a variant by its record or by its exact tag, and a main image by neither', () => {
    expect(variantOfRecord(dev.latest)).toEqual({ name: 'dev', of: 'static' });
    expect(variantOfRecord(debug.latest)).toEqual({ name: 'debug' });
    expect(variantOfRecord(main.latest)).toBeUndefined();
    // A version that itself ends in -rN is no variant.
    expect(variantOfRecord(sampleRecord({ recipe: 'x', tags: ['1.0-r2-r0'] }))).toBeUndefined();
  });

  it('groups each main image with the variants of its repository, in the list order', () => {
    const families = groupFamilies([debug, other, dev, lone, main]);
    expect(families.map((f) => [f.main.name, f.variants.map((v) => v.name)])).toEqual([
      ['python', []],
      ['jq-dev', []],
      ['static', ['static-debug', 'static-dev']],
    ]);
    expect(familyOf([main, dev, other], 'static-dev')?.main.name).toBe('static');
    expect(familyOf([main, dev, other], 'static')?.variants.map((v) => v.name)).toEqual([
      'static-dev',
    ]);
    expect(familyOf([main], 'nope')).toBeUndefined();
  });

  it('keeps a variant recorded as of another image out of a family it does not belong to', () => {
    const stranger = image({
      recipe: 'base-dev',
      repository: 'static',
      tags: ['1.0-r0-dev'],
      variant: { name: 'dev', of: 'base' },
    });
    const families = groupFamilies([main, stranger]);
    expect(families.map((f) => [f.main.name, f.variants.length])).toEqual([
      ['static', 0],
      ['base-dev', 0],
    ]);
  });
});
