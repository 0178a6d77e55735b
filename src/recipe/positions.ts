import {
  isMap,
  isNode,
  isScalar,
  isSeq,
  type Document,
  type LineCounter,
  type Node,
  type Pair,
} from 'yaml';
import type { Anchor } from './issues.ts';

/** 1-based line and column. */
export interface Position {
  line: number;
  col: number;
}

interface Located {
  /** The key of the last map entry on the path, if the path ends in a map field. */
  key?: Node | undefined;
  value?: Node | undefined;
}

function findPair(map: Node, key: PropertyKey): Pair<unknown, unknown> | undefined {
  if (!isMap(map)) return undefined;
  return map.items.find(
    (pair) => String(isScalar(pair.key) ? pair.key.value : pair.key) === String(key),
  );
}

/**
 * Follows a path through the YAML tree as far as it exists. A path that leaves the tree (a
 * missing field) ends at the deepest entry that is there.
 */
function locate(
  doc: Document,
  path: readonly PropertyKey[],
): { found: Located; complete: boolean } {
  let found: Located = { value: doc.contents ?? undefined };
  for (const segment of path) {
    const node = found.value;
    if (!node) return { found, complete: false };
    if (isMap(node)) {
      const pair = findPair(node, segment);
      if (!pair) return { found, complete: false };
      found = {
        key: isNode(pair.key) ? pair.key : undefined,
        value: isNode(pair.value) ? pair.value : undefined,
      };
    } else if (isSeq(node) && typeof segment === 'number') {
      const item = node.items[segment];
      if (!isNode(item)) return { found, complete: false };
      found = { value: item };
    } else {
      return { found, complete: false };
    }
  }
  return { found, complete: true };
}

function start(node: Node | undefined): number | undefined {
  return node?.range?.[0];
}

/**
 * Where a finding points. `key` anchors name the field (unknown or missing fields point at the
 * field's key, or at the entry that lacks it); `value` anchors point at the value, or at the key
 * when the value is empty.
 */
export function positionOf(
  doc: Document,
  counter: LineCounter,
  path: readonly PropertyKey[],
  anchor: Anchor,
): Position {
  const { found, complete } = locate(doc, path);
  let offset: number | undefined;
  if (!complete) offset = start(found.key) ?? start(found.value);
  else if (anchor === 'key') offset = start(found.key) ?? start(found.value);
  else
    offset = isEmptyScalar(found.value)
      ? (start(found.key) ?? start(found.value))
      : (start(found.value) ?? start(found.key));
  const pos = counter.linePos(offset ?? 0);
  return { line: pos.line, col: pos.col };
}

function isEmptyScalar(node: Node | undefined): boolean {
  return (
    node === undefined ||
    (isScalar(node) && node.value === null && node.range?.[0] === node.range?.[1])
  );
}
