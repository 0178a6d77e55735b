import { readFileSync } from 'node:fs';
import ts from 'typescript';
import type { z } from 'zod';
import * as schemas from './schema.ts';

/*
 * The recipe fields' TSDoc comments are the one source of their documentation: this reads them
 * from schema.ts with the TypeScript compiler (the parser, no type checking) so the JSON Schema
 * and docs/recipes.md say exactly what the code says. Dev-time only (typescript is a dev tool).
 */

export interface FieldDoc {
  description: string;
  examples: string[];
  /** The `@default` tag as written, for fields whose default is not in the schema itself. */
  default?: string | undefined;
}

/** Docs of each object schema's fields: schema → field name → doc. */
export type FieldDocs = Map<z.core.$ZodType, Map<string, FieldDoc>>;

function docOf(node: ts.Node): FieldDoc | undefined {
  const jsdocs = ts.getJSDocCommentsAndTags(node).filter(ts.isJSDoc);
  const last = jsdocs[jsdocs.length - 1];
  if (!last) return undefined;
  const description = (ts.getTextOfJSDocComment(last.comment) ?? '').replace(/\s+/g, ' ').trim();
  const examples: string[] = [];
  let def: string | undefined;
  for (const tag of last.tags ?? []) {
    const text = (ts.getTextOfJSDocComment(tag.comment) ?? '').trim();
    if (tag.tagName.text === 'example') examples.push(text);
    if (tag.tagName.text === 'default') def = text;
  }
  return { description, examples, default: def };
}

/** The object literal a schema variable is built from: the first `z.strictObject({…})` argument. */
function objectLiteralOf(init: ts.Node): ts.ObjectLiteralExpression | undefined {
  if (ts.isObjectLiteralExpression(init)) return init;
  let found: ts.ObjectLiteralExpression | undefined;
  const visit = (node: ts.Node): void => {
    if (found) return;
    if (ts.isCallExpression(node) && /\.(strictObject|object)$/.test(node.expression.getText())) {
      const arg = node.arguments[0];
      if (arg && ts.isObjectLiteralExpression(arg)) {
        found = arg;
        return;
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(init);
  return found;
}

/** Reads every `const x = z.strictObject({...})` in schema.ts and the TSDoc of each field. */
export function readFieldDocs(sourceFile = new URL('./schema.ts', import.meta.url)): FieldDocs {
  const text = readFileSync(sourceFile, 'utf8');
  const source = ts.createSourceFile('schema.ts', text, ts.ScriptTarget.ES2022, true);
  const literals = new Map<string, ts.ObjectLiteralExpression>();
  source.forEachChild((statement) => {
    if (!ts.isVariableStatement(statement)) return;
    for (const decl of statement.declarationList.declarations) {
      const literal = decl.initializer && objectLiteralOf(decl.initializer);
      if (ts.isIdentifier(decl.name) && literal) literals.set(decl.name.text, literal);
    }
  });
  const fieldsOf = (literal: ts.ObjectLiteralExpression, depth = 0): Map<string, FieldDoc> => {
    const out = new Map<string, FieldDoc>();
    for (const prop of literal.properties) {
      if (ts.isSpreadAssignment(prop) && ts.isIdentifier(prop.expression) && depth < 3) {
        const spread = literals.get(prop.expression.text);
        if (spread) for (const [k, v] of fieldsOf(spread, depth + 1)) out.set(k, v);
      } else if (ts.isPropertyAssignment(prop)) {
        const name =
          ts.isStringLiteral(prop.name) || ts.isIdentifier(prop.name)
            ? prop.name.text
            : prop.name.getText();
        const doc = docOf(prop);
        if (doc) out.set(name, doc);
      }
    }
    return out;
  };
  const docs: FieldDocs = new Map();
  for (const [name, value] of Object.entries(schemas)) {
    const literal = literals.get(name);
    if (literal && typeof value === 'object' && value !== null && '_zod' in value)
      docs.set(value, fieldsOf(literal));
  }
  return docs;
}
