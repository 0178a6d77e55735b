import { gzipSync } from 'node:zlib';
import { sha256Digest } from '../../src/oci/digest.ts';
import { MediaType } from '../../src/oci/media-types.ts';

/**
 * Pushes a tiny one-layer image to a registry with plain HTTP calls (monolithic uploads), for
 * tests of the queue that must not depend on kiln's own registry client.
 */
export async function pushTinyImage(
  registryHost: string,
  repository: string,
  tag: string,
  content: string,
): Promise<string> {
  const base = `http://${registryHost}/v2/${repository}`;
  const layer = gzipSync(Buffer.from(content));
  const config = Buffer.from(
    JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      config: {},
      rootfs: { type: 'layers', diff_ids: [sha256Digest(Buffer.from(content))] },
    }),
  );
  for (const blob of [layer, config]) {
    const digest = sha256Digest(blob);
    const start = await fetch(`${base}/blobs/uploads/`, { method: 'POST' });
    if (start.status !== 202) throw new Error(`upload start: ${start.status}`);
    const location = new URL(start.headers.get('location') ?? '', `http://${registryHost}`);
    location.searchParams.set('digest', digest);
    const put = await fetch(location, {
      method: 'PUT',
      body: blob,
      headers: { 'content-type': 'application/octet-stream' },
    });
    if (put.status !== 201) throw new Error(`upload: ${put.status}`);
  }
  const manifest = JSON.stringify({
    schemaVersion: 2,
    mediaType: MediaType.imageManifest,
    config: { mediaType: MediaType.imageConfig, digest: sha256Digest(config), size: config.length },
    layers: [{ mediaType: MediaType.layerGzip, digest: sha256Digest(layer), size: layer.length }],
  });
  const res = await fetch(`${base}/manifests/${tag}`, {
    method: 'PUT',
    body: manifest,
    headers: { 'content-type': MediaType.imageManifest },
  });
  if (res.status !== 201) throw new Error(`manifest: ${res.status} ${await res.text()}`);
  return sha256Digest(manifest);
}
