import { z } from 'zod';

/*
 * Walks the recipe's zod schema by path, to find the fields an object accepts (for "did you
 * mean") and to describe what a union expects. Only the schema kinds recipes use are handled.
 */

export type Path = readonly PropertyKey[];

/** The schema with optional, default and pipe wrappers taken off. */
export function unwrap(schema: z.core.$ZodType): z.core.$ZodType {
  let s: z.core.$ZodType = schema;
  for (let i = 0; i < 10; i++) {
    if (
      s instanceof z.ZodOptional ||
      s instanceof z.ZodNullable ||
      s instanceof z.ZodDefault ||
      s instanceof z.ZodReadonly
    ) {
      s = s.unwrap();
    } else if (s instanceof z.ZodPipe) {
      s = s.in;
    } else {
      return s;
    }
  }
  return s;
}

/** The schemas that may sit at a path (several when a union is on the way). */
export function schemasAt(root: z.core.$ZodType, path: Path): z.core.$ZodType[] {
  let current = [unwrap(root)];
  for (const segment of path) {
    const next: z.core.$ZodType[] = [];
    for (const s of current.flatMap(expandUnion)) {
      if (s instanceof z.ZodObject && typeof segment === 'string') {
        const field = s.shape[segment];
        if (field) next.push(unwrap(field));
      } else if (s instanceof z.ZodArray && typeof segment === 'number') {
        next.push(unwrap(s.element));
      } else if (s instanceof z.ZodRecord) {
        next.push(unwrap(s.valueType));
      }
    }
    current = next;
  }
  return current.flatMap(expandUnion);
}

function expandUnion(s: z.core.$ZodType): z.core.$ZodType[] {
  return s instanceof z.ZodUnion ? s.options.map(unwrap).flatMap(expandUnion) : [s];
}

/** Field names an object at this path accepts. */
export function keysAt(root: z.core.$ZodType, path: Path): string[] {
  return schemasAt(root, path).flatMap((s) =>
    s instanceof z.ZodObject ? Object.keys(s.shape) : [],
  );
}

/** A person's name for what a schema accepts: "a string", "a list", "a map". */
export function kindName(s: z.core.$ZodType): string {
  const u = unwrap(s);
  if (u instanceof z.ZodString) return 'a string';
  if (u instanceof z.ZodNumber) return 'a number';
  if (u instanceof z.ZodBoolean) return 'true or false';
  if (u instanceof z.ZodArray) return 'a list';
  if (u instanceof z.ZodObject || u instanceof z.ZodRecord) return 'a map';
  if (u instanceof z.ZodEnum) return `one of ${u.options.join(', ')}`;
  if (u instanceof z.ZodUnion) return u.options.map(kindName).join(' or ');
  return 'a value';
}
