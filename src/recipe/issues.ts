import type { z } from 'zod';
import { closest } from './suggest.ts';
import { keysAt, kindName, schemasAt, type Path } from './schema-walk.ts';

/** Where in the YAML a finding points: the key of the field, or its value. */
export type Anchor = 'key' | 'value';

/** A finding against the parsed recipe, before it is given a line and column. */
export interface Finding {
  path: PropertyKey[];
  anchor: Anchor;
  message: string;
}

/** `build.archs[0]`: the path as a person reads it. */
export function pathLabel(path: Path): string {
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else out += out === '' ? String(segment) : `.${String(segment)}`;
  }
  return out;
}

const withPath = (path: Path, text: string): string =>
  path.length > 0 ? `${pathLabel(path)}: ${text}` : text;

function shown(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a map';
  if (typeof value === 'string')
    return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  return String(value);
}

function typeName(expected: string): string {
  const names: Record<string, string> = {
    array: 'a list',
    object: 'a map',
    string: 'a string',
    number: 'a number',
    int: 'a whole number',
    boolean: 'true or false',
  };
  return names[expected] ?? expected;
}

/** Turns zod's issues into findings with messages a maintainer can act on. */
export function findingsFromIssues(
  issues: readonly z.core.$ZodIssue[],
  root: z.core.$ZodType,
  prefix: PropertyKey[] = [],
): Finding[] {
  return issues.flatMap((issue) => fromIssue(issue, root, prefix));
}

function fromIssue(
  issue: z.core.$ZodIssue,
  root: z.core.$ZodType,
  prefix: PropertyKey[],
): Finding[] {
  const path = [...prefix, ...issue.path];
  switch (issue.code) {
    case 'unrecognized_keys': {
      const known = keysAt(root, path);
      return issue.keys.map((key) => {
        const guess = closest(key, known);
        return {
          path: [...path, key],
          anchor: 'key' as const,
          message: withPath(
            [...path, key],
            `unknown field${guess ? `; did you mean \`${guess}\`?` : ''}`,
          ),
        };
      });
    }
    case 'invalid_type': {
      if (issue.input === undefined)
        return [{ path, anchor: 'key', message: withPath(path, 'missing required field') }];
      return [
        {
          path,
          anchor: 'value',
          message: withPath(
            path,
            `expected ${typeName(issue.expected)}, got ${shown(issue.input)}`,
          ),
        },
      ];
    }
    case 'invalid_value': {
      if (issue.input === undefined)
        return [{ path, anchor: 'key', message: withPath(path, 'missing required field') }];
      const options = issue.values.map(String);
      const guess = typeof issue.input === 'string' ? closest(issue.input, options) : undefined;
      const text = `expected one of ${options.join(', ')}, got ${shown(issue.input)}${guess ? `; did you mean \`${guess}\`?` : ''}`;
      return [{ path, anchor: 'value', message: withPath(path, text) }];
    }
    case 'too_small': {
      const min = Number(issue.minimum);
      const text =
        issue.origin === 'array'
          ? min <= 1
            ? 'must not be empty'
            : `needs at least ${min} items`
          : issue.origin === 'string'
            ? min <= 1
              ? 'must not be empty'
              : `needs at least ${min} characters`
            : `must be at least ${min}`;
      return [{ path, anchor: 'value', message: withPath(path, text) }];
    }
    case 'invalid_format':
      return [
        {
          path,
          anchor: 'value',
          message: withPath(path, `${issue.message}, got ${shown(issue.input)}`),
        },
      ];
    case 'invalid_union': {
      // Report the branch the value was evidently meant for: the one that did not fail on its type.
      const meant = issue.errors.filter(
        (branch) => !branch.some((i) => i.code === 'invalid_type' && i.path.length === 0),
      );
      if (meant.length === 1 && meant[0]) return findingsFromIssues(meant[0], root, path);
      const kinds = schemasAt(root, path).map(kindName);
      return [
        {
          path,
          anchor: 'value',
          message: withPath(
            path,
            `expected ${[...new Set(kinds)].join(' or ')}, got ${shown(issue.input)}`,
          ),
        },
      ];
    }
    case 'invalid_key': {
      const inner = issue.issues[0]?.message ?? 'invalid key';
      return [{ path, anchor: 'key', message: withPath(path, `invalid key: ${inner}`) }];
    }
    case 'custom': {
      // A rule about a whole map points at the map's key, not at its first entry.
      const input: unknown = issue.input;
      const anchor =
        typeof input === 'object' && input !== null && !Array.isArray(input) ? 'key' : 'value';
      return [{ path, anchor, message: withPath(path, issue.message) }];
    }
    default:
      return [{ path, anchor: 'value', message: withPath(path, issue.message) }];
  }
}
