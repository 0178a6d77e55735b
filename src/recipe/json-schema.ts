import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import type { FieldDocs } from './field-docs.ts';
import { recipeSchema } from './schema.ts';

/**
 * The recipe JSON Schema, for editors (yaml-language-server) and other tools: zod's own
 * conversion of the input side (defaults make fields optional), with each field's TSDoc as its
 * description and its `@example`s as examples.
 */
export function recipeJsonSchema(docs: FieldDocs): Record<string, unknown> {
  const schema = z.toJSONSchema(recipeSchema, {
    io: 'input',
    target: 'draft-2020-12',
    override: (ctx) => {
      const fields = docs.get(ctx.zodSchema);
      const properties = ctx.jsonSchema.properties;
      if (!fields || !properties) return;
      for (const [name, doc] of fields) {
        const property = properties[name];
        if (property === undefined || typeof property === 'boolean') continue;
        property.description = doc.description;
        const examples = doc.examples
          .map((e) => exampleValue(name, e))
          .filter((v) => v !== undefined);
        if (examples.length > 0) property.examples = examples;
        const def =
          doc.default === undefined ? undefined : exampleValue(name, `${name}: ${doc.default}`);
        if (property.default === undefined && def !== undefined) property.default = def;
      }
    },
  });
  return {
    ...schema,
    title: 'kiln recipe',
    description: 'A kiln recipe: how one container image is kept evergreen.',
  };
}

/** An `@example` is a YAML snippet `field: value`; the schema wants the value. */
function exampleValue(field: string, snippet: string): unknown {
  try {
    const parsed: unknown = parseYaml(snippet);
    return typeof parsed === 'object' && parsed !== null && field in parsed
      ? Object.getOwnPropertyDescriptor(parsed, field)?.value
      : undefined;
  } catch {
    return undefined;
  }
}
