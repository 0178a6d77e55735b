import { createHash } from 'node:crypto';
import { gunzipSync, gzipSync } from 'node:zlib';
import tar from 'tar-stream';

/*
 * Pushes a small multi-arch OCI image to a registry with plain fetch (the distribution API),
 * so catalog tests have real registry contents to compare the pages against.
 */

const sha = (data: Uint8Array | string) =>
  `sha256:${createHash('sha256').update(data).digest('hex')}`;

async function tarOf(files: Record<string, string>): Promise<Buffer> {
  const pack = tar.pack();
  for (const [name, text] of Object.entries(files))
    pack.entry({ name, mtime: new Date(0), mode: 0o644 }, text);
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const chunk of pack) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

async function pushBlob(base: string, data: Uint8Array): Promise<string> {
  const digest = sha(data);
  const start = await fetch(`${base}/blobs/uploads/`, { method: 'POST' });
  if (start.status !== 202) throw new Error(`starting an upload to ${base}: ${start.status}`);
  const location = new URL(start.headers.get('location')!, base);
  location.searchParams.set('digest', digest);
  const put = await fetch(location, {
    method: 'PUT',
    body: data,
    headers: { 'content-type': 'application/octet-stream' },
  });
  if (put.status !== 201)
    throw new Error(`uploading ${digest} to ${base}: ${put.status} ${await put.text()}`);
  return digest;
}

async function putManifest(
  base: string,
  ref: string,
  mediaType: string,
  body: string,
): Promise<void> {
  const res = await fetch(`${base}/manifests/${ref}`, {
    method: 'PUT',
    body,
    headers: { 'content-type': mediaType },
  });
  if (res.status !== 201)
    throw new Error(`putting manifest ${ref} to ${base}: ${res.status} ${await res.text()}`);
}

export interface PushedImage {
  digest: string;
  archs: { arch: string; digest: string; size: number }[];
}

/** Pushes an index of one manifest per arch to `host/repository` and sets `tags` on it. */
export async function pushSmallImage(
  host: string,
  repository: string,
  version: string,
  archs: string[],
  tags: string[],
  annotations: Record<string, string> = {},
): Promise<PushedImage> {
  const base = `http://${host}/v2/${repository}`;
  const manifests: PushedImage['archs'] = [];
  const descriptors = [];
  for (const arch of archs) {
    const layer = gzipSync(
      await tarOf({ 'etc/hello.txt': `hello from ${repository} ${version} on ${arch}\n` }),
      { level: 9 },
    );
    const diffId = sha(gunzipSync(layer)); // diff_ids name the uncompressed layer
    const config = Buffer.from(
      JSON.stringify({
        architecture: arch,
        os: 'linux',
        config: {},
        rootfs: { type: 'layers', diff_ids: [diffId] },
      }),
    );
    const [layerDigest, configDigest] = [await pushBlob(base, layer), await pushBlob(base, config)];
    const manifest = JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: {
        mediaType: 'application/vnd.oci.image.config.v1+json',
        digest: configDigest,
        size: config.length,
      },
      layers: [
        {
          mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip',
          digest: layerDigest,
          size: layer.length,
        },
      ],
    });
    const digest = sha(manifest);
    await putManifest(base, digest, 'application/vnd.oci.image.manifest.v1+json', manifest);
    manifests.push({ arch, digest, size: config.length + layer.length });
    descriptors.push({
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      digest,
      size: Buffer.byteLength(manifest),
      platform: { architecture: arch, os: 'linux' },
    });
  }
  const index = JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.index.v1+json',
    manifests: descriptors,
    annotations: { 'org.opencontainers.image.version': version, ...annotations },
  });
  const digest = sha(index);
  await putManifest(base, digest, 'application/vnd.oci.image.index.v1+json', index);
  for (const tag of tags)
    await putManifest(base, tag, 'application/vnd.oci.image.index.v1+json', index);
  return { digest, archs: manifests };
}

/** What the registry says a tag points at (Docker-Content-Digest of the tag's manifest). */
export async function registryDigest(
  host: string,
  repository: string,
  ref: string,
): Promise<string> {
  const res = await fetch(`http://${host}/v2/${repository}/manifests/${ref}`, {
    method: 'HEAD',
    headers: {
      accept: 'application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json',
    },
  });
  if (res.status !== 200) throw new Error(`HEAD ${repository}:${ref}: ${res.status}`);
  return res.headers.get('docker-content-digest')!;
}

/** The per-arch manifest digests of an index in the registry. */
export async function registryIndexArchs(
  host: string,
  repository: string,
  ref: string,
): Promise<Record<string, string>> {
  const res = await fetch(`http://${host}/v2/${repository}/manifests/${ref}`, {
    headers: { accept: 'application/vnd.oci.image.index.v1+json' },
  });
  const index = (await res.json()) as {
    manifests: { digest: string; platform: { architecture: string } }[];
  };
  return Object.fromEntries(index.manifests.map((m) => [m.platform.architecture, m.digest]));
}

/** Pushes an OCI manifest of the given layers (blobs uploaded) under `tag`: cosign's .sig/.att shapes. */
export async function pushArtifact(
  host: string,
  repository: string,
  tag: string,
  layers: { mediaType: string; data: Buffer; annotations?: Record<string, string> }[],
): Promise<string> {
  const base = `http://${host}/v2/${repository}`;
  const config = Buffer.from('{}');
  const configDigest = await pushBlob(base, config);
  const descriptors = [];
  for (const l of layers) {
    descriptors.push({
      mediaType: l.mediaType,
      digest: await pushBlob(base, l.data),
      size: l.data.length,
      ...(l.annotations ? { annotations: l.annotations } : {}),
    });
  }
  const manifest = JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: {
      mediaType: 'application/vnd.oci.image.config.v1+json',
      digest: configDigest,
      size: config.length,
    },
    layers: descriptors,
  });
  await putManifest(base, tag, 'application/vnd.oci.image.manifest.v1+json', manifest);
  return sha(manifest);
}
