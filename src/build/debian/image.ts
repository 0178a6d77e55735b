import os from 'node:os';
import pLimit from 'p-limit';
import type { Lockfile } from '../../debian/lockfile.ts';
import { OciLayout } from '../../oci/layout.ts';
import { Annotation, MediaType, platformOf, type Descriptor, type ImageConfig, type ImageManifest } from '../../oci/media-types.ts';
import { gzipLayer, writeTarLayer, type LayerEntry } from '../../oci/tar.ts';
import type { BuildPackage } from '../../queue/types.ts';
import type { Recipe } from '../../recipe/schema.ts';
import { accountEntries, type Accounts } from './accounts.ts';
import { planLayers } from './layers.ts';
import { licenseFromCopyright } from './license.ts';
import type { FetchedPackage } from './packages.ts';
import { assembleTrees, caBundle, withParents, type PackageTree } from './rootfs.ts';

export const defaultPath = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
export const caBundlePath = '/etc/ssl/certs/ca-certificates.crt';

/** What one arch's image is made from. */
export interface ArchImageInput {
  layout: OciLayout;
  recipe: Recipe;
  lock: Lockfile;
  fetched: FetchedPackage[];
  accounts: Accounts;
  annotations: Record<string, string>;
  /** SOURCE_DATE_EPOCH when set: every entry's mtime. Otherwise each layer takes its packages' date. */
  sourceDateEpoch: number | undefined;
}

export interface ArchImage {
  manifest: Descriptor;
  packages: BuildPackage[];
  layers: { digest: string; size: number; packages: string[] }[];
  /** The image config's `created`, also the SBOM's creation time. */
  created: string;
}

/** `pkg:deb/debian/<name>@<version>?arch=<arch>`, the version percent-encoded as purl requires. */
export function debPurl(name: string, version: string, arch: string): string {
  return `pkg:deb/debian/${name}@${encodeURIComponent(version).replace(/%3A/g, ':')}?arch=${arch}`;
}

/** The control file as scanners expect it in status.d (dpkg's status format, one package). */
function statusEntries(p: FetchedPackage): LayerEntry[] {
  let control = p.contents.control.get('control')?.toString('utf8') ?? '';
  if (!control.endsWith('\n')) control += '\n';
  const out: LayerEntry[] = [{ path: `var/lib/dpkg/status.d/${p.locked.name}`, type: 'file', mode: 0o644, data: Buffer.from(control) }];
  const md5sums = p.contents.control.get('md5sums');
  if (md5sums) out.push({ path: `var/lib/dpkg/status.d/${p.locked.name}.md5sums`, type: 'file', mode: 0o644, data: md5sums });
  return out;
}

function licenseOf(tree: PackageTree): string | undefined {
  const copyright = tree.entries.get(`usr/share/doc/${tree.name}/copyright`);
  return copyright?.data ? licenseFromCopyright(copyright.data.toString('utf8')) : undefined;
}

/** Assembles one arch's root filesystem into layers, and writes its config and manifest. */
export async function writeArchImage(input: ArchImageInput): Promise<ArchImage> {
  const { lock, recipe, layout } = input;
  const byName = new Map(input.fetched.map((f) => [f.locked.name, f]));
  const trees = assembleTrees(input.fetched.map((f) => ({ name: f.locked.name, contents: f.contents })));
  const packageLayers = trees.map((tree) => {
    const fetched = byName.get(tree.name);
    const extra = fetched ? statusEntries(fetched) : [];
    const bundle = tree.name === 'ca-certificates' ? caBundle(tree) : undefined;
    return { name: tree.name, entries: withParents([...tree.entries.values(), ...extra, ...(bundle ? [bundle] : [])]) };
  });
  const planned = planLayers(withParents(accountEntries(input.accounts)), packageLayers);
  const newest = (names: string[]): number => Math.max(0, ...names.map((n) => byName.get(n)?.contents.mtime ?? 0));
  const allNewest = newest([...byName.keys()]);
  const createdEpoch = input.sourceDateEpoch ?? allNewest;
  const created = new Date(createdEpoch * 1000).toISOString().replace(/\.000Z$/, 'Z');

  const limit = pLimit(Math.max(1, os.availableParallelism()));
  const written = await Promise.all(
    planned.map((layer, i) =>
      limit(async () => {
        const mtime = input.sourceDateEpoch ?? newest(layer.packages);
        const what = `layer ${i} (${layer.packages.join(', ') || 'base'}) of ${recipe.name} ${lock.arch}`;
        const { tar, diffId } = await writeTarLayer(layer.entries, { mtime, what });
        const desc = await layout.writeBlob(await gzipLayer(tar), MediaType.layerGzip);
        return { desc, diffId, packages: layer.packages };
      }),
    ),
  );

  const env: Record<string, string> = { PATH: defaultPath, SSL_CERT_FILE: caBundlePath, ...recipe.build.env };
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
    history: written.map((w) => ({ created, created_by: `kiln debian: ${w.packages.join(' ') || 'accounts and base folders'}` })),
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
  const treeByName = new Map(trees.map((t) => [t.name, t]));
  const packages: BuildPackage[] = lock.packages.map((p) => {
    const tree = treeByName.get(p.name);
    const license = tree ? licenseOf(tree) : undefined;
    return {
      name: p.name,
      version: p.version,
      arch: p.arch,
      purl: debPurl(p.name, p.version, p.arch),
      digest: `sha256:${p.sha256}`,
      sourcePackage: p.source,
      supplier: 'Debian',
      ...(license ? { license } : {}),
    };
  });
  return {
    manifest: { ...manifestDesc, platform, annotations: { [Annotation.inputsDigest]: input.annotations[Annotation.inputsDigest] ?? '' } },
    packages,
    layers: written.map((w) => ({ digest: w.desc.digest, size: w.desc.size, packages: w.packages })),
    created,
  };
}
