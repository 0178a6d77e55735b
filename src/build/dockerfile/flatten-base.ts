import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { z } from 'zod';
import { readTar } from '../../debian/deb.ts';
import { describeError } from '../../errors.ts';
import type { Logger } from '../../log.ts';
import { OciLayout } from '../../oci/layout.ts';
import { LayoutSchema, type ParsedDescriptor } from '../../oci/manifest-schema.ts';
import { MediaType, platformOf, type Descriptor } from '../../oci/media-types.ts';
import { writeTarLayer, type LayerEntry } from '../../oci/tar.ts';
import type { ResolvedBase } from './bases.ts';

/*
 * A build-only base (one whose layers never reach the output, see stages.ts) squashed into one
 * layer before buildah loads it. buildah's vfs storage keeps every layer as a full copy of the
 * tree below it, so a kiln-built base with one layer per package (c-toolchain: 58 layers, ~300 MB)
 * cost ~9 GB and minutes to load; squashed it is one copy. The files, modes and numeric owners
 * are the same, so what a stage compiles or copies out is too; file times become the build's
 * SOURCE_DATE_EPOCH, and extended attributes are not carried (kiln's debian images have none).
 */

const configDoc = z.looseObject({ rootfs: z.looseObject({ diff_ids: z.array(z.string()) }) });

/** The manifest of `arch` under a base's digest (an index or a manifest). */
async function archManifest(layout: OciLayout, base: ResolvedBase, arch: string) {
  const root = LayoutSchema.index
    .parse(await layout.readIndex())
    .manifests.find((m) => m.digest === base.digest);
  if (!root) throw new Error(`base ${base.name}: ${base.digest} is not in ${base.layoutDir}`);
  let entry: ParsedDescriptor | undefined = root;
  if (root.mediaType === MediaType.imageIndex || root.mediaType === MediaType.dockerManifestList) {
    const want = platformOf(arch);
    entry = LayoutSchema.index
      .parse(await layout.readJson(root.digest))
      .manifests.find(
        (m) => m.platform?.os === want.os && m.platform.architecture === want.architecture,
      );
  }
  if (!entry) throw new Error(`base ${base.name} has no image for ${arch}`);
  return LayoutSchema.manifest.parse(await layout.readJson(entry.digest));
}

/** Drops `p` and everything below it. */
function removeTree(tree: Map<string, LayerEntry>, p: string): void {
  tree.delete(p);
  const prefix = `${p}/`;
  for (const key of tree.keys()) if (key.startsWith(prefix)) tree.delete(key);
}

/** Applies one layer's entries to the tree as a runtime unpacks it, whiteouts included. */
async function applyLayer(
  tree: Map<string, LayerEntry>,
  data: Buffer,
  mediaType: string,
  what: string,
): Promise<void> {
  if (!/tar(\+gzip|\.gzip)?$/.test(mediaType))
    throw new Error(`${what}: layer type ${mediaType} is not squashed`);
  const entries = await readTar(/gzip$/.test(mediaType) ? gunzipSync(data) : data, what);
  // Whiteouts hide what the layers below hold, not what this layer adds: apply them first.
  for (const e of entries) {
    const dir = path.posix.dirname(e.path);
    const base = path.posix.basename(e.path);
    if (base === '.wh..wh..opq') {
      for (const key of [...tree.keys()]) if (key.startsWith(`${dir}/`)) tree.delete(key);
    } else if (base.startsWith('.wh.')) {
      removeTree(tree, dir === '.' ? base.slice(4) : `${dir}/${base.slice(4)}`);
    }
  }
  for (const e of entries) {
    if (e.path === '' || path.posix.basename(e.path).startsWith('.wh.')) continue;
    const owner = { mode: e.mode, uid: e.uid, gid: e.gid };
    if (e.type === 'directory') {
      if (tree.get(e.path)?.type !== 'directory') removeTree(tree, e.path);
      tree.set(e.path, { path: e.path, type: 'directory', ...owner });
      continue;
    }
    removeTree(tree, e.path);
    if (e.type === 'symlink') {
      tree.set(e.path, { path: e.path, type: 'symlink', ...owner, linkname: e.linkname ?? '' });
    } else if (e.type === 'link') {
      const target = tree.get((e.linkname ?? '').replace(/^(\.\/)+|^\/+/g, ''));
      if (target?.type !== 'file') throw new Error(`${what}: hard link ${e.path} has no target`);
      tree.set(e.path, { ...target, path: e.path, ...owner });
    } else {
      tree.set(e.path, { path: e.path, type: 'file', ...owner, data: e.data ?? Buffer.alloc(0) });
    }
  }
}

/**
 * Writes `base`'s image for `arch` as a one-layer image into a new layout under `dir`, with the
 * same config (user, env, workdir…). Throws when the base holds what one tar layer of kiln's
 * cannot (device nodes, an unsupported layer type); the caller then loads the base as it is.
 */
export async function flattenBase(
  base: ResolvedBase,
  arch: string,
  dir: string,
  mtime: number,
): Promise<ResolvedBase> {
  const source = new OciLayout(base.layoutDir);
  const manifest = await archManifest(source, base, arch);
  const tree = new Map<string, LayerEntry>();
  for (const [i, layer] of manifest.layers.entries())
    await applyLayer(
      tree,
      await source.readBlob(layer.digest),
      layer.mediaType,
      `base ${base.name} (${arch}) layer ${i + 1}`,
    );
  const squashed = await writeTarLayer([...tree.values()], {
    mtime,
    what: `base ${base.name} (${arch}) squashed`,
  });
  const layout = await OciLayout.create(dir);
  const layerDesc = await layout.writeBlob(squashed.tar, MediaType.layerTar);
  const config = configDoc.parse(await source.readJson(manifest.config.digest));
  const configDesc = await layout.writeJson(
    {
      ...config,
      rootfs: { type: 'layers', diff_ids: [squashed.diffId] },
      history: [{ created_by: `kiln: ${base.name} (${base.digest}) squashed for a build stage` }],
    },
    MediaType.imageConfig,
  );
  const flat: Descriptor = await layout.writeJson(
    {
      schemaVersion: 2,
      mediaType: MediaType.imageManifest,
      config: configDesc,
      layers: [layerDesc],
    },
    MediaType.imageManifest,
  );
  await layout.setRoot(flat, arch);
  return { ...base, layoutDir: dir, ref: arch, digest: flat.digest };
}

/**
 * The bases as buildah should load them for `arch`: the ones in `shipped` (their layers reach
 * the output) as they are, every build-only one squashed, or as it is when it cannot be.
 */
export async function loadableBases(
  bases: readonly ResolvedBase[],
  shipped: ReadonlySet<string>,
  options: { arch: string; dir: string; mtime: number; log?: Logger },
): Promise<ResolvedBase[]> {
  const out: ResolvedBase[] = [];
  for (const base of bases) {
    if (shipped.has(base.name)) {
      out.push(base);
      continue;
    }
    const dir = path.join(
      options.dir,
      `${base.name.replace(/[^A-Za-z0-9._-]/g, '-')}-${options.arch}`,
    );
    try {
      out.push(await flattenBase(base, options.arch, dir, options.mtime));
    } catch (error) {
      options.log?.warn(
        { base: base.name, arch: options.arch, error: describeError(error) },
        'build-only base not squashed; loading it layer by layer',
      );
      out.push(base);
    }
  }
  return out;
}
