import path from 'node:path';
import { minimatch } from 'minimatch';
import { PermanentError } from '../../errors.ts';
import type { DebContents, TarEntry } from '../../debian/deb.ts';
import { checkLayerPath, symlinkEscapes, type LayerEntry } from '../../oci/tar.ts';

/** One package's share of the root filesystem, after path canonicalisation and filtering. */
export interface PackageTree {
  name: string;
  entries: Map<string, LayerEntry>;
}

/**
 * Files no runtime needs, dropped as distroless does: documentation except copyright notices
 * (kept for licence compliance), manual pages, info pages, lintian overrides.
 */
export function isDropped(p: string): boolean {
  if (/^usr\/share\/(man|info|lintian|linda|bug)(\/|$)/.test(p)) return true;
  const doc = /^usr\/share\/doc\/([^/]+)(\/(.*))?$/.exec(p);
  if (doc) return doc[3] !== undefined && doc[3] !== 'copyright';
  return false;
}

/** Whether a path (relative to the root) is one the recipe's `build.contents.drop` removes. */
export type DropMatcher = (p: string) => boolean;

/**
 * The matcher of the recipe's `build.contents.drop` globs (checked by the schema: absolute,
 * inside the root), or undefined when there are none. A path matches when it or one of its
 * folders matches a glob, so `/usr/lib/x86_64-linux-gnu/gconv` takes the folder and all in it.
 */
export function recipeDrop(patterns: readonly string[] | undefined): DropMatcher | undefined {
  if (!patterns || patterns.length === 0) return undefined;
  const res = patterns.map((g) => {
    const re = minimatch.makeRe(g.replace(/^\/+/, ''), { dot: true });
    if (re === false) throw new PermanentError(`build.contents.drop: \`${g}\` is not a valid glob`);
    return re;
  });
  return (p) => {
    const parts = p.split('/');
    for (let n = 1; n <= parts.length; n++) {
      const prefix = parts.slice(0, n).join('/');
      if (res.some((re) => re.test(prefix))) return true;
    }
    return false;
  };
}

/**
 * Resolves `p` through the symlinks in `links` (path → target), component by component, as
 * dpkg's unpack does: a package shipping `lib/x` where another ships `lib -> usr/lib` puts the
 * file at `usr/lib/x`. A link that leads out of the root is refused.
 */
export function canonicalise(
  p: string,
  links: Map<string, string>,
  what: string,
  followLast: boolean,
  used?: Set<string>,
): string {
  let parts = p.split('/');
  for (let hops = 0, i = 0; i < parts.length; i++) {
    if (i === parts.length - 1 && !followLast) break;
    const prefix = parts.slice(0, i + 1).join('/');
    const target = links.get(prefix);
    if (target === undefined) continue;
    used?.add(prefix);
    if (++hops > 40) throw new PermanentError(`${what}: too many symlinks resolving ${p}`);
    if (symlinkEscapes(prefix, target))
      throw new PermanentError(
        `${what}: refusing ${p}, the symlink ${prefix} -> ${target} escapes the root`,
      );
    const base = target.startsWith('/')
      ? target.slice(1)
      : path.posix.join(path.posix.dirname(prefix), target);
    const resolved = path.posix.normalize(base).replace(/\/+$/, '');
    if (resolved === '.' || resolved === '') {
      parts = parts.slice(i + 1);
    } else {
      if (resolved.startsWith('..'))
        throw new PermanentError(`${what}: refusing ${p}, the symlink ${prefix} escapes the root`);
      parts = [...resolved.split('/'), ...parts.slice(i + 1)];
    }
    i = -1; // start again: the target may itself pass through links
  }
  return parts.join('/');
}

/** What the whole-tree decisions need from one package, without its file contents. */
export interface PathIndex {
  /** Symlinks as shipped: path → target. */
  links: [string, string][];
  /** Every non-folder path as shipped (files, hard links, symlinks). */
  paths: string[];
  /** Every folder as shipped. */
  dirs: string[];
}

/** The path index of a package's data (small; cached per .deb so warm builds skip unpacking). */
export function pathIndexOf(contents: DebContents): PathIndex {
  const links: [string, string][] = [];
  const paths: string[] = [];
  const dirs: string[] = [];
  for (const e of contents.data) {
    if (e.path === '') continue;
    if (e.type === 'directory') {
      dirs.push(e.path);
      continue;
    }
    paths.push(e.path);
    if (e.type === 'symlink' && e.linkname) links.push([e.path, e.linkname]);
  }
  return { links, paths, dirs };
}

/** The decisions that span packages: where directory symlinks lead, and who owns each path. */
export interface TreeView {
  links: Map<string, string>;
  /**
   * Canonical path → the package that ships it last by name (dpkg's Replaces, simplified). The
   * base layer's merged-/usr aliases have no owner: no package layer holds them.
   */
  owner: Map<string, string>;
  /**
   * Per package, what its layer depends on beyond its own .deb: the symlinks its paths pass
   * through and the paths it loses to other packages. With the .deb's SHA256 this keys the layer
   * cache, so a one-package update leaves every other layer's cache entry valid.
   */
  context: Map<string, LayerContext>;
  /** The recipe's `build.contents.drop`, when it has one. */
  drop?: DropMatcher;
  /** Per package that lost any, the paths `drop` removed (where they land, sorted). */
  dropped: Map<string, string[]>;
}

/**
 * A layer's dependencies beyond its .deb. `dropped` is there only when the recipe's `drop`
 * removed some of its paths, so the keys of recipes without `drop` stay as they were.
 */
export interface LayerContext {
  links: [string, string][];
  lost: string[];
  dropped?: string[];
}

const byName = <T extends { name: string }>(a: T, b: T): number =>
  a.name < b.name ? -1 : a.name > b.name ? 1 : 0;

/**
 * Builds the {@link TreeView} from every package's path index. `aliases` (the merged-/usr
 * symlinks, see merged-usr.ts) belong to the base layer: they win over any package's link of the
 * same path, and a package that ships them too (base-files) loses them, so no path is in two
 * layers.
 */
export function treeView(
  indexes: { name: string; index: PathIndex }[],
  aliases: readonly [string, string][] = [],
  drop?: DropMatcher,
): TreeView {
  const sorted = [...indexes].sort(byName);
  const links = new Map<string, string>(aliases);
  const reserved = new Set(aliases.map(([p]) => p));
  for (const { index } of sorted)
    for (const [p, t] of index.links) if (!links.has(p)) links.set(p, t);
  const owner = new Map<string, string>();
  const canonical = new Map<string, string[]>();
  const used = new Map<string, Set<string>>();
  const dropped = new Map<string, string[]>();
  for (const { name, index } of sorted) {
    const what = `package ${name}`;
    const through = new Set<string>();
    const mine: string[] = [];
    const gone: string[] = [];
    for (const raw of index.paths) {
      if (isDropped(raw)) continue;
      checkLayerPath(raw, what);
      const p = canonicalise(raw, links, what, false, through);
      if (p === '' || isDropped(p)) continue;
      if (drop && (drop(raw) || drop(p))) gone.push(p);
      else {
        if (!reserved.has(p)) owner.set(p, name);
        mine.push(p);
      }
    }
    for (const raw of index.dirs)
      if (!isDropped(raw) && !drop?.(raw)) canonicalise(raw, links, what, true, through);
    canonical.set(name, mine);
    used.set(name, through);
    if (gone.length > 0) dropped.set(name, gone.sort());
  }
  const context = new Map<string, LayerContext>();
  for (const { name } of sorted) {
    const through = [...(used.get(name) ?? [])].sort();
    const gone = dropped.get(name);
    context.set(name, {
      links: through.map((p): [string, string] => [p, links.get(p) ?? '']),
      lost: (canonical.get(name) ?? []).filter((p) => owner.get(p) !== name).sort(),
      ...(gone ? { dropped: gone } : {}),
    });
  }
  return { links, owner, context, dropped, ...(drop ? { drop } : {}) };
}

/** The part of the tree that one package contributes: only the paths it owns in the view. */
export function packageTree(name: string, contents: DebContents, view: TreeView): PackageTree {
  const what = `package ${name}`;
  const tree: PackageTree = { name, entries: new Map() };
  const files = new Map<string, Buffer | undefined>();
  for (const e of contents.data) if (e.type === 'file') files.set(e.path, e.data);
  for (const e of contents.data) {
    if (e.path === '' || e.path === '.') continue;
    checkLayerPath(e.path, what);
    if (isDropped(e.path) || view.drop?.(e.path)) continue;
    // A directory or a file is placed where dpkg would put it; a symlink keeps its own name
    // but its folder is resolved.
    const p = canonicalise(e.path, view.links, what, e.type === 'directory');
    if (p === '' || isDropped(p) || view.drop?.(p)) continue;
    checkLayerPath(p, what);
    if (e.type === 'directory') {
      if (!tree.entries.has(p)) tree.entries.set(p, toEntry(e, p, undefined));
      continue;
    }
    if (view.owner.get(p) !== name) continue;
    if (e.type === 'link') {
      const target = normaliseLinkTarget(e.linkname, what, e.path);
      const data = files.get(target);
      if (data === undefined)
        throw new PermanentError(
          `${what}: hard link ${e.path} points to ${target}, which the package does not ship`,
        );
      tree.entries.set(p, { path: p, type: 'file', mode: e.mode, uid: e.uid, gid: e.gid, data });
    } else {
      tree.entries.set(p, toEntry(e, p, e.data));
    }
  }
  return tree;
}

function toEntry(e: TarEntry, p: string, data: Buffer | undefined): LayerEntry {
  if (e.type === 'directory')
    return { path: p, type: 'directory', mode: e.mode, uid: e.uid, gid: e.gid };
  if (e.type === 'symlink')
    return { path: p, type: 'symlink', mode: 0o777, uid: e.uid, gid: e.gid, linkname: e.linkname };
  return {
    path: p,
    type: 'file',
    mode: e.mode,
    uid: e.uid,
    gid: e.gid,
    data: data ?? Buffer.alloc(0),
  };
}

/**
 * Lays the packages' data out as one tree split by owner. Every path is checked (no `..`, no
 * absolute path, no escaping symlink), hard links become copies (their target may sit in
 * another layer), and a path shipped twice goes to the later package by name, as dpkg's
 * Replaces would, so no path appears in two layers.
 */
export function assembleTrees(
  debs: { name: string; contents: DebContents }[],
  aliases: readonly [string, string][] = [],
  drop?: DropMatcher,
): PackageTree[] {
  const sorted = [...debs].sort(byName);
  const view = treeView(
    sorted.map((d) => ({ name: d.name, index: pathIndexOf(d.contents) })),
    aliases,
    drop,
  );
  return sorted.map((d) => packageTree(d.name, d.contents, view));
}

function normaliseLinkTarget(raw: string | undefined, what: string, p: string): string {
  const t = (raw ?? '').replace(/^(\.\/)+/, '').replace(/^\/+/, '');
  checkLayerPath(t, `${what} hard link ${p}`);
  return t;
}

/** Adds the folders that lead to every entry, so each layer unpacks on its own. */
export function withParents(entries: Iterable<LayerEntry>): LayerEntry[] {
  const out = new Map<string, LayerEntry>();
  for (const e of entries) out.set(e.path, e);
  for (const e of [...out.values()]) {
    const parts = e.path.split('/');
    for (let n = 1; n < parts.length; n++) {
      const dir = parts.slice(0, n).join('/');
      if (!out.has(dir)) out.set(dir, { path: dir, type: 'directory', mode: 0o755 });
    }
  }
  return [...out.values()];
}

/**
 * The CA bundle update-ca-certificates would write (its postinst is not run): every
 * certificate under usr/share/ca-certificates, in path order, into etc/ssl/certs.
 */
export function caBundle(tree: PackageTree): LayerEntry | undefined {
  const certs = [...tree.entries.values()]
    .filter(
      (e) =>
        e.type === 'file' &&
        e.path.startsWith('usr/share/ca-certificates/') &&
        e.path.endsWith('.crt'),
    )
    .sort((a, b) => (a.path < b.path ? -1 : 1));
  if (certs.length === 0) return undefined;
  const pem = Buffer.concat(
    certs.map((c) => {
      const d = c.data ?? Buffer.alloc(0);
      return d.length > 0 && d[d.length - 1] !== 0x0a ? Buffer.concat([d, Buffer.from('\n')]) : d;
    }),
  );
  return { path: 'etc/ssl/certs/ca-certificates.crt', type: 'file', mode: 0o644, data: pem };
}
