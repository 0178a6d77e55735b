import { readFile, writeFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { readFieldDocs } from './field-docs.ts';
import { recipeJsonSchema } from './json-schema.ts';
import { renderReference } from './reference.ts';

/*
 * Writes schema/recipe.schema.json and docs/recipes.md from the zod schema and its TSDoc.
 * `--check` writes nothing and exits 1 when a committed file differs (CI's drift check).
 */

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const exampleRecipe = 'recipes/prettier.yaml';

/** The generated files, path → content. */
export async function generatedFiles(): Promise<Map<string, string>> {
  const schema = recipeJsonSchema(readFieldDocs());
  const example = await readFile(path.join(root, exampleRecipe), 'utf8');
  return new Map([
    ['schema/recipe.schema.json', `${JSON.stringify(schema, null, 2)}\n`],
    ['docs/recipes.md', renderReference(schema, { name: exampleRecipe, text: example })],
  ]);
}

/** Files whose committed content differs from what the schema generates. */
export async function driftedFiles(): Promise<string[]> {
  const drifted: string[] = [];
  for (const [file, content] of await generatedFiles()) {
    const current = await readFile(path.join(root, file), 'utf8').catch(() => undefined);
    if (current !== content) drifted.push(file);
  }
  return drifted;
}

async function main(check: boolean): Promise<number> {
  if (check) {
    const drifted = await driftedFiles();
    for (const file of drifted)
      process.stderr.write(`${file} is out of date: run npm run schema\n`);
    return drifted.length > 0 ? 1 : 0;
  }
  for (const [file, content] of await generatedFiles()) {
    await mkdir(path.dirname(path.join(root, file)), { recursive: true });
    await writeFile(path.join(root, file), content);
    process.stderr.write(`wrote ${file}\n`);
  }
  return 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.exitCode = await main(process.argv.includes('--check'));
}
