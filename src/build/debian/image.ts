import os from 'node:os';
import pLimit from 'p-limit';
import { readDeb, type DebContents } from '../../debian/deb.ts';
import type { Lockfile } from '../../debian/lockfile.ts';
import { OciLayout } from '../../oci/layout.ts';
import {
  Annotation,
  MediaType,
  platformOf,
  type Descriptor,
  type ImageConfig,
  type ImageManifest,
} from '../../oci/media-types.ts';
import { gzipLayer, writeTarLayer, type LayerEntry } from '../../oci/tar.ts';
import type { BuildPackage } from '../../model/build-result.ts';
import type { Recipe } from '../../recipe/schema.ts';
import { accountEntries, type Accounts } from './accounts.ts';
import { debianBuilderVersion } from './builder-version.ts';
import { layerCache, layerKey } from './layer-cache.ts';
import { mergeEntries, planLayers } from './layers.ts';
import { javaCacerts, javaCacertsKey } from './java-cacerts.ts';
import { licenseFromCopyright } from './license.ts';
import { mergedUsrAliases, mergedUsrEntries } from './merged-usr.ts';
import { pathEntries } from './paths.ts';
import type { FetchedDeb } from './packages.ts';
import {
  caBundle,
  canonicalise,
  packageTree,
  pathIndexOf,
  recipeDrop,
  treeView,
  withParents,
  type PackageTree,
  type TreeView,
} from './rootfs.ts';

export const defaultPath = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
export const caBundlePath = '/etc/ssl/certs/ca-certificates.crt';

/** What one arch's image is made from. */
export interface ArchImageInput {
  layout: OciLayout;
  recipe: Recipe;
  lock: Lockfile;
  debs: FetchedDeb[];
  /** KILN_CACHE_DIR: path indexes and finished layers are kept there. */
  cacheDir: string;
  accounts: Accounts;
  annotations: Record<string, string>;
  /** SOURCE_DATE_EPOCH when set: every entry's mtime. Otherwise each layer takes its packages' date. */
  sourceDateEpoch: number | undefined;
  /** The recipe's fetched `files`, already checked: one layer after the packages. */
  files?: LayerEntry[];
}

export interface ArchImage {
  manifest: Descriptor;
  packages: BuildPackage[];
  layers: { digest: string; size: number; packages: string[]; cached: boolean }[];
  /** The image config's `created`, also the SBOM's creation time. */
  created: string;
}

/** `pkg:deb/debian/<name>@<version>?arch=<arch>`, the version percent-encoded as purl requires. */
export function debPurl(name: string, version: string, arch: string): string {
  return `pkg:deb/debian/${name}@${encodeURIComponent(version).replace(/%3A/g, ':')}?arch=${arch}`;
}

/** The control file as scanners expect it in status.d (dpkg's status format, one package). */
function statusEntries(name: string, contents: DebContents, view: TreeView): LayerEntry[] {
  let control = contents.control.get('control')?.toString('utf8') ?? '';
  if (!control.endsWith('\n')) control += '\n';
  const out: LayerEntry[] = [
    {
      path: `var/lib/dpkg/status.d/${name}`,
      type: 'file',
      mode: 0o644,
      data: Buffer.from(control),
    },
  ];
  const md5sums = withoutDropped(contents.control.get('md5sums'), view, name);
  if (md5sums)
    out.push({
      path: `var/lib/dpkg/status.d/${name}.md5sums`,
      type: 'file',
      mode: 0o644,
      data: md5sums,
    });
  return out;
}

/** md5sums without the lines of paths the recipe dropped, so scanners see what is there. */
function withoutDropped(
  md5sums: Buffer | undefined,
  view: TreeView,
  name: string,
): Buffer | undefined {
  const dropped = view.dropped.get(name);
  if (!md5sums || !dropped) return md5sums;
  const gone = new Set(dropped);
  const lines = md5sums.toString('utf8').split('\n');
  const kept = lines.filter((l) => {
    const p = /^[0-9a-f]+ +(.+)$/.exec(l)?.[1];
    const rel = p?.replace(/^\.?\//, '');
    return !(rel && (gone.has(rel) || view.drop?.(rel)));
  });
  return Buffer.from(kept.join('\n'));
}

function licenseOf(tree: PackageTree): string | undefined {
  const copyright = tree.entries.get(`usr/share/doc/${tree.name}/copyright`);
  return copyright?.data ? licenseFromCopyright(copyright.data.toString('utf8')) : undefined;
}

/** Builds (or takes from the layer cache) one package layer: its files, status.d entry, CA bundle. */
async function packageLayer(
  members: string[],
  ctx: {
    view: TreeView;
    load: (name: string) => Promise<DebContents>;
    what: string;
    mtime: number;
  },
): Promise<{ tar: Buffer; diffId: string; licenses: Record<string, string> }> {
  const entries: LayerEntry[] = [];
  const licenses: Record<string, string> = {};
  for (const name of members) {
    const contents = await ctx.load(name);
    const tree = packageTree(name, contents, ctx.view);
    const bundle = name === 'ca-certificates' ? caBundle(tree) : undefined;
    entries.push(
      ...withParents([
        ...tree.entries.values(),
        ...statusEntries(name, contents, ctx.view),
        ...(bundle ? [bundle] : []),
        ...javaCacerts(bundle, ctx.view.links, ctx.mtime),
      ]),
    );
    const license = licenseOf(tree);
    if (license) licenses[name] = license;
  }
  const { tar, diffId } = await writeTarLayer(mergeEntries(entries), {
    mtime: ctx.mtime,
    what: ctx.what,
  });
  return { tar, diffId, licenses };
}

/** One layer as written to the layout, with what its history entry says made it. */
interface WrittenLayer {
  desc: Descriptor;
  diffId: string;
  packages: string[];
  licenses: Record<string, string>;
  cached: boolean;
  createdBy: string;
}

/** The packages' merged tree, the image's times and the means to load a package lazily. */
interface ArchTree {
  view: TreeView;
  load: (name: string) => Promise<DebContents>;
  newest: (names: string[]) => number;
  createdEpoch: number;
  created: string;
  limit: ReturnType<typeof pLimit>;
  cache: ReturnType<typeof layerCache>;
  what: string;
}

/**
 * Assembles one arch's root filesystem into layers, and writes its config and manifest:
 * planTree → baseLayer → packageLayers → filesLayer → writeManifest.
 */
export async function writeArchImage(input: ArchImageInput): Promise<ArchImage> {
  const tree = await planTree(input);
  const base = await baseLayer(input, tree);
  const written = [base, ...(await packageLayers(input, tree))];
  const files = await filesLayer(input, tree);
  if (files) written.push(files);
  const { manifestDesc, platform } = await writeManifest(input, tree.created, written);
  const licenses = new Map(written.flatMap((w) => Object.entries(w.licenses)));
  return {
    manifest: {
      ...manifestDesc,
      platform,
      annotations: { [Annotation.inputsDigest]: input.annotations[Annotation.inputsDigest] ?? '' },
    },
    packages: sbomPackages(input.lock, licenses, tree.view.dropped),
    layers: written.map((w) => ({
      digest: w.desc.digest,
      size: w.desc.size,
      packages: w.packages,
      cached: w.cached,
    })),
    created: tree.created,
  };
}

/** Every package's path index (cached by its sha256) merged into one view of the tree. */
async function planTree(input: ArchImageInput): Promise<ArchTree> {
  const { lock, recipe } = input;
  const cache = layerCache(input.cacheDir);
  const debs = new Map(input.debs.map((d) => [d.locked.name, d]));
  const unpacked = new Map<string, Promise<DebContents>>();
  const load = (name: string): Promise<DebContents> => {
    let p = unpacked.get(name);
    if (!p) {
      const deb = debs.get(name);
      if (!deb) throw new Error(`package ${name} is not in the lockfile for ${lock.arch}`);
      p = readDeb(deb.bytes, `package ${name} ${deb.locked.version} (${lock.arch})`);
      unpacked.set(name, p);
    }
    return p;
  };
  const limit = pLimit(Math.max(2, os.availableParallelism()));
  const indexes = await Promise.all(
    lock.packages.map((p) =>
      limit(async () => {
        const cached = await cache.readPathIndex(p.sha256);
        if (cached) return { name: p.name, index: cached, mtime: cached.mtime };
        const contents = await load(p.name);
        const index = pathIndexOf(contents);
        await cache.writePathIndex(p.sha256, index, contents.mtime);
        return { name: p.name, index, mtime: contents.mtime };
      }),
    ),
  );
  const drop = recipeDrop(recipe.build.contents?.drop);
  const view = treeView(indexes, mergedUsrAliases(lock.arch), drop);
  const mtimes = new Map(indexes.map((i) => [i.name, i.mtime]));
  const newest = (names: string[]): number => Math.max(0, ...names.map((n) => mtimes.get(n) ?? 0));
  const createdEpoch = input.sourceDateEpoch ?? newest([...mtimes.keys()]);
  const created = new Date(createdEpoch * 1000).toISOString().replace(/\.000Z$/, 'Z');
  const what = `recipe ${recipe.name} (${lock.arch})`;
  return { view, load, newest, createdEpoch, created, limit, cache, what };
}

/** Accounts, the merged-/usr links and the working folder, under every package layer. */
async function baseLayer(input: ArchImageInput, tree: ArchTree): Promise<WrittenLayer> {
  const { lock, recipe } = input;
  // Like Docker's WORKDIR, the working folder exists even when no package ships it; like every
  // path on top of the packages, it is placed where it lands through their symlinks (/lib/x is
  // usr/lib/x), or the folder would replace a symlink of a lower layer.
  const workdir = canonicalise(
    (recipe.build.workdir ?? '/').replace(/^\/+|\/+$/g, ''),
    tree.view.links,
    tree.what,
    true,
  );
  const workdirEntries: LayerEntry[] = workdir
    ? [{ path: workdir, type: 'directory', mode: 0o755 }]
    : [];
  const base = await writeTarLayer(
    withParents([
      ...accountEntries(input.accounts),
      ...mergedUsrEntries(lock.arch),
      ...workdirEntries,
    ]),
    {
      mtime: input.sourceDateEpoch ?? 0,
      what: `base layer of ${recipe.name} ${lock.arch}`,
    },
  );
  const desc = await input.layout.writeBlob(await gzipLayer(base.tar), MediaType.layerGzip);
  return {
    desc,
    diffId: base.diffId,
    packages: [],
    licenses: {},
    cached: false,
    createdBy: 'accounts and base folders',
  };
}

/** One layer per group of packages, each reused from the layer cache when its key matches. */
async function packageLayers(input: ArchImageInput, tree: ArchTree): Promise<WrittenLayer[]> {
  const { lock, recipe, layout } = input;
  const { view, cache } = tree;
  const bySha = new Map(lock.packages.map((p) => [p.name, p.sha256]));
  const groups = planLayers(lock.packages.map((p) => ({ name: p.name, size: p.size })));
  return Promise.all(
    groups.map((members) =>
      tree.limit(async (): Promise<WrittenLayer> => {
        const mtime = input.sourceDateEpoch ?? tree.newest(members);
        const key = layerKey({
          builder: debianBuilderVersion,
          mtime,
          members: members.map((name) => ({
            name,
            sha256: bySha.get(name),
            context: view.context.get(name),
            // A cached ca-certificates layer without Java's trust store must not serve a JRE image.
            ...javaCacertsKey(name, view.links),
          })),
        });
        const createdBy = members.join(' ');
        const hit = await cache.readLayer(key);
        if (hit) {
          const desc = await layout.writeBlob(hit.blob, MediaType.layerGzip);
          const { diffId, licenses } = hit.record;
          return { desc, diffId, packages: members, licenses, cached: true, createdBy };
        }
        const what = `layer of ${members.join(', ')} (${recipe.name} ${lock.arch})`;
        const layer = await packageLayer(members, { view, load: tree.load, what, mtime });
        const gz = await gzipLayer(layer.tar);
        const desc = await layout.writeBlob(gz, MediaType.layerGzip);
        await cache.writeLayer(
          key,
          { digest: desc.digest, diffId: layer.diffId, size: desc.size, licenses: layer.licenses },
          gz,
        );
        const { diffId, licenses } = layer;
        return { desc, diffId, packages: members, licenses, cached: false, createdBy };
      }),
    ),
  );
}

/** The recipe's files and `paths` on top, placed through the packages' symlinks; none: no layer. */
async function filesLayer(
  input: ArchImageInput,
  tree: ArchTree,
): Promise<WrittenLayer | undefined> {
  const { lock, recipe } = input;
  const files = [...(input.files ?? []), ...pathEntries(recipe)];
  if (files.length === 0) return undefined;
  const placed = new Map<string, LayerEntry>();
  for (const e of files) {
    const p = canonicalise(e.path, tree.view.links, tree.what, e.type === 'directory');
    if (p !== '') placed.set(p, { ...e, path: p });
  }
  const layer = await writeTarLayer(withParents(placed.values()), {
    mtime: tree.createdEpoch,
    what: `files layer of ${recipe.name} ${lock.arch}`,
  });
  return {
    desc: await input.layout.writeBlob(await gzipLayer(layer.tar), MediaType.layerGzip),
    diffId: layer.diffId,
    packages: [],
    licenses: {},
    cached: false,
    createdBy: 'recipe files',
  };
}

/** The image config (user, env, entrypoint, history) and the manifest over the layers. */
async function writeManifest(input: ArchImageInput, created: string, written: WrittenLayer[]) {
  const { lock, recipe, layout } = input;
  const env: Record<string, string> = {
    PATH: defaultPath,
    SSL_CERT_FILE: caBundlePath,
    ...recipe.build.env,
  };
  const platform = platformOf(lock.arch);
  const config: ImageConfig = {
    created,
    architecture: platform.architecture,
    os: platform.os,
    ...(platform.variant ? { variant: platform.variant } : {}),
    config: {
      User: input.accounts.runAs,
      Env: Object.entries(env).map(([k, v]) => `${k}=${v}`),
      ...(recipe.build.entrypoint ? { Entrypoint: recipe.build.entrypoint } : {}),
      ...(recipe.build.cmd ? { Cmd: recipe.build.cmd } : {}),
      WorkingDir: recipe.build.workdir ?? '/',
      Labels: input.annotations,
    },
    rootfs: { type: 'layers', diff_ids: written.map((w) => w.diffId) },
    history: written.map((w) => ({ created, created_by: `kiln debian: ${w.createdBy}` })),
  };
  const configDesc = await layout.writeJson(config, MediaType.imageConfig);
  const manifest: ImageManifest = {
    schemaVersion: 2,
    mediaType: MediaType.imageManifest,
    config: configDesc,
    layers: written.map((w) => w.desc),
    annotations: input.annotations,
  };
  const manifestDesc = await layout.writeJson(manifest, MediaType.imageManifest);
  return { manifestDesc, platform };
}

/** What the SBOM lists: every locked package, its purl, digest, source and license. */
function sbomPackages(
  lock: Lockfile,
  licenses: Map<string, string>,
  dropped: Map<string, string[]>,
): BuildPackage[] {
  return lock.packages.map((p) => {
    const license = licenses.get(p.name);
    const gone = dropped.get(p.name);
    return {
      name: p.name,
      version: p.version,
      arch: p.arch,
      purl: debPurl(p.name, p.version, p.arch),
      digest: `sha256:${p.sha256}`,
      sourcePackage: p.source,
      sourceVersion: p['source-version'],
      supplier: 'Debian',
      ...(license ? { license } : {}),
      ...(gone ? { droppedPaths: gone } : {}),
    };
  });
}
