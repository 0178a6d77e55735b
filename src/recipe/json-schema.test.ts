import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';

/*
 * The committed JSON Schema is what editors (yaml-language-server) check recipes with: it must
 * accept every valid recipe and reject the mistakes it can express (unknown keys, wrong types).
 */

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

async function validator() {
  const schema: unknown = JSON.parse(
    await readFile(path.join(repo, 'schema/recipe.schema.json'), 'utf8'),
  );
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  if (typeof schema !== 'object' || schema === null) throw new Error('schema is not an object');
  return ajv.compile(schema);
}

async function yamlFiles(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((f) => f.endsWith('.yaml')).map((f) => path.join(dir, f));
}

describe('schema/recipe.schema.json', () => {
  it('accepts the shipped recipes and the valid test recipes', async () => {
    const validate = await validator();
    const files = [
      ...(await yamlFiles(path.join(repo, 'recipes'))),
      ...(await yamlFiles(path.join(repo, 'test/recipes/valid'))),
    ];
    for (const file of files) {
      const ok = validate(parse(await readFile(file, 'utf8')));
      expect(ok, `${file}: ${JSON.stringify(validate.errors)}`).toBe(true);
    }
  });

  it.each([
    'unknown-key-typo',
    'unknown-key-nested',
    'archs-unknown',
    'entrypoint-string',
    'env-number',
    'publish-tags-typo',
    'missing-name',
  ])('rejects broken/%s.yaml', async (name) => {
    const validate = await validator();
    expect(
      validate(
        parse(await readFile(path.join(repo, 'test/recipes/broken', `${name}.yaml`), 'utf8')),
      ),
    ).toBe(false);
  });
});
