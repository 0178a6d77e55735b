import { PermanentError } from '../errors.ts';
import type { VersionOperator } from './version.ts';

/*
 * Package relationship fields (Depends, Pre-Depends, Provides): a comma-separated list of
 * alternatives `a (>= 1) | b:any`, with optional `[arch]` and `<profile>` restrictions, which a
 * binary package's Packages entry should not carry but which are stripped defensively.
 */

export interface Relation {
  name: string;
  /** `any`, `native` or an arch name after `:`; undefined when unqualified. */
  archQualifier: string | undefined;
  constraint: { op: VersionOperator; version: string } | undefined;
}

/** One dependency: any one of its alternatives satisfies it. */
export type Dependency = Relation[];

const relationPattern =
  /^([a-z0-9][a-z0-9+.-]*)(?::([a-z0-9-]+))?\s*(?:\(\s*(<<|<=|=|>=|>>|<|>)\s*([0-9A-Za-z][^\s)]*)\s*\))?$/;

/** Parses one alternative, e.g. `libc6 (>= 2.36)`; undefined when it is not well formed. */
export function parseRelation(text: string): Relation | undefined {
  const cleaned = text
    .replace(/\[[^\]]*\]/g, '')
    .replace(/<[^>]*>/g, '')
    .trim();
  const m = relationPattern.exec(cleaned);
  if (!m?.[1]) return undefined;
  // `<` and `>` are obsolete spellings of `<=` and `>=` (deb-control(5)).
  const op = m[3] === '<' ? '<=' : m[3] === '>' ? '>=' : (m[3] as VersionOperator | undefined);
  return {
    name: m[1],
    archQualifier: m[2],
    constraint: op && m[4] ? { op, version: m[4] } : undefined,
  };
}

/** Parses a Depends-like field into dependencies; a malformed alternative is an error. */
export function parseDependencies(field: string | undefined, context: string): Dependency[] {
  if (!field) return [];
  const out: Dependency[] = [];
  for (const group of field.split(',')) {
    if (group.trim() === '') continue;
    const alternatives: Relation[] = [];
    for (const alt of group.split('|')) {
      const relation = parseRelation(alt);
      if (!relation)
        throw new PermanentError(`${context}: cannot parse relation ${JSON.stringify(alt.trim())}`);
      alternatives.push(relation);
    }
    out.push(alternatives);
  }
  return out;
}

/** Formats a relation back, for error messages: `libc6 (>= 2.36)`. */
export function formatRelation(r: Relation): string {
  const name = r.archQualifier ? `${r.name}:${r.archQualifier}` : r.name;
  return r.constraint ? `${name} (${r.constraint.op} ${r.constraint.version})` : name;
}
