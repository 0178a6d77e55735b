import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { readFieldDocs } from './field-docs.ts';
import { driftedFiles } from './generate.ts';
import * as schemas from './schema.ts';

describe('generated recipe files', () => {
  it('schema/recipe.schema.json and docs/recipes.md match the schema (run `npm run schema`)', async () => {
    expect(await driftedFiles()).toEqual([]);
  });

  it('every field of every recipe object has TSDoc', () => {
    const docs = readFieldDocs();
    const missing: string[] = [];
    for (const [name, value] of Object.entries(schemas)) {
      if (!(value instanceof z.ZodObject)) continue;
      const fields = docs.get(value);
      for (const key of Object.keys(value.shape))
        if (!fields?.get(key)?.description) missing.push(`${name}.${key}`);
    }
    expect(missing).toEqual([]);
  });
});
