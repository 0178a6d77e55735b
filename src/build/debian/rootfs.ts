import path from 'node:path';
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

/**
 * Resolves `p` through the symlinks in `links` (path → target), component by component, as
 * dpkg's unpack does: a package shipping `lib/x` where another ships `lib -> usr/lib` puts the
 * file at `usr/lib/x`. A link that leads out of the root is refused.
 */
export function canonicalise(p: string, links: Map<string, string>, what: string, followLast: boolean): string {
  let parts = p.split('/');
  for (let hops = 0, i = 0; i < parts.length; i++) {
    if (i === parts.length - 1 && !followLast) break;
    const prefix = parts.slice(0, i + 1).join('/');
    const target = links.get(prefix);
    if (target === undefined) continue;
    if (++hops > 40) throw new PermanentError(`${what}: too many symlinks resolving ${p}`);
    if (symlinkEscapes(prefix, target)) throw new PermanentError(`${what}: refusing ${p}, the symlink ${prefix} -> ${target} escapes the root`);
    const base = target.startsWith('/') ? target.slice(1) : path.posix.join(path.posix.dirname(prefix), target);
    const resolved = path.posix.normalize(base).replace(/\/+$/, '');
    if (resolved === '.' || resolved === '') {
      parts = parts.slice(i + 1);
    } else {
      if (resolved.startsWith('..')) throw new PermanentError(`${what}: refusing ${p}, the symlink ${prefix} escapes the root`);
      parts = [...resolved.split('/'), ...parts.slice(i + 1)];
    }
    i = -1; // start again: the target may itself pass through links
  }
  return parts.join('/');
}

/** Every symlink every package ships, by its path as shipped (first shipped wins, by name order). */
function collectLinks(debs: { name: string; contents: DebContents }[]): Map<string, string> {
  const links = new Map<string, string>();
  for (const { contents } of debs) {
    for (const e of contents.data) if (e.type === 'symlink' && e.linkname && e.path !== '' && !links.has(e.path)) links.set(e.path, e.linkname);
  }
  return links;
}

function toEntry(e: TarEntry, p: string, data: Buffer | undefined): LayerEntry {
  if (e.type === 'directory') return { path: p, type: 'directory', mode: e.mode, uid: e.uid, gid: e.gid };
  if (e.type === 'symlink') return { path: p, type: 'symlink', mode: 0o777, uid: e.uid, gid: e.gid, linkname: e.linkname };
  return { path: p, type: 'file', mode: e.mode, uid: e.uid, gid: e.gid, data: data ?? Buffer.alloc(0) };
}

/**
 * Lays the packages' data out as one tree split by owner. Every path is checked (no `..`, no
 * absolute path, no escaping symlink), hard links become copies (their target may sit in
 * another layer), and a path shipped twice goes to the later package by name, as dpkg's
 * Replaces would, so no path appears in two layers.
 */
export function assembleTrees(debs: { name: string; contents: DebContents }[]): PackageTree[] {
  const sorted = [...debs].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const links = collectLinks(sorted);
  const owner = new Map<string, PackageTree>();
  const trees: PackageTree[] = [];
  for (const { name, contents } of sorted) {
    const what = `package ${name}`;
    const tree: PackageTree = { name, entries: new Map() };
    trees.push(tree);
    const files = new Map<string, Buffer | undefined>();
    for (const e of contents.data) if (e.type === 'file') files.set(e.path, e.data);
    for (const e of contents.data) {
      if (e.path === '' || e.path === '.') continue;
      checkLayerPath(e.path, what);
      if (isDropped(e.path)) continue;
      // A directory or a file is placed where dpkg would put it; a symlink keeps its own name
      // but its folder is resolved.
      const p = canonicalise(e.path, links, what, e.type === 'directory');
      if (p === '' || isDropped(p)) continue;
      checkLayerPath(p, what);
      let entry: LayerEntry;
      if (e.type === 'link') {
        const target = normaliseLinkTarget(e.linkname, what, e.path);
        const data = files.get(target);
        if (data === undefined) throw new PermanentError(`${what}: hard link ${e.path} points to ${target}, which the package does not ship`);
        entry = { path: p, type: 'file', mode: e.mode, uid: e.uid, gid: e.gid, data };
      } else {
        entry = toEntry(e, p, e.data);
      }
      if (entry.type === 'directory') {
        if (!tree.entries.has(p)) tree.entries.set(p, entry);
        continue;
      }
      const previous = owner.get(p);
      if (previous && previous !== tree) previous.entries.delete(p);
      owner.set(p, tree);
      tree.entries.set(p, entry);
    }
  }
  return trees;
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
    .filter((e) => e.type === 'file' && e.path.startsWith('usr/share/ca-certificates/') && e.path.endsWith('.crt'))
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
