import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { testRegistryHost, uniqueName } from '../../test/helpers/stack.ts';
import { PermanentError, TransientError } from '../errors.ts';
import { sha256Digest } from './digest.ts';
import { MediaType } from './media-types.ts';
import { RegistryClient } from './registry-client.ts';

function client(chunkSize?: number): RegistryClient {
  return new RegistryClient({ host: testRegistryHost(), ...(chunkSize ? { chunkSize } : {}) });
}

async function pushImage(
  c: RegistryClient,
  repo: string,
  layer: Buffer,
): Promise<{ bytes: Buffer; digest: string }> {
  const config = Buffer.from(
    '{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}',
  );
  await c.pushBlob(repo, sha256Digest(config), { data: config });
  await c.pushBlob(repo, sha256Digest(layer), { data: layer });
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaType.imageManifest,
      config: {
        mediaType: MediaType.imageConfig,
        digest: sha256Digest(config),
        size: config.length,
      },
      layers: [{ mediaType: MediaType.layerGzip, digest: sha256Digest(layer), size: layer.length }],
    }),
  );
  const digest = await c.putManifest(
    repo,
    sha256Digest(manifest),
    manifest,
    MediaType.imageManifest,
  );
  return { bytes: manifest, digest };
}

describe('registry client against docker-registry', () => {
  it('HEADs before uploading: a second push of the same blob sends no bytes', async () => {
    const c = client();
    const repo = uniqueName('oci/blobs');
    const data = randomBytes(4096);
    const digest = sha256Digest(data);
    expect(await c.hasBlob(repo, digest)).toBe(false);
    expect(await c.pushBlob(repo, digest, { data })).toBe('uploaded');
    const before = c.stats.bytesUploaded;
    expect(await c.pushBlob(repo, digest, { data })).toBe('exists');
    expect(c.stats.bytesUploaded).toBe(before);
    expect((await c.getBlob(repo, digest))?.equals(data)).toBe(true);
  });

  it('uploads in chunks from a stream when the blob is larger than the chunk size', async () => {
    const c = client(1000);
    const repo = uniqueName('oci/chunked');
    const data = randomBytes(3500);
    const digest = sha256Digest(data);
    const open = () => Readable.from([data.subarray(0, 1234), data.subarray(1234)]);
    expect(await c.pushBlob(repo, digest, { open, size: data.length })).toBe('uploaded');
    expect(c.stats.requests.PATCH).toBe(4);
    expect((await c.getBlob(repo, digest))?.equals(data)).toBe(true);
  });

  it('mounts a blob from another repository instead of uploading it', async () => {
    const c = client();
    const from = uniqueName('oci/base');
    const to = uniqueName('oci/derived');
    const data = randomBytes(2048);
    const digest = sha256Digest(data);
    await c.pushBlob(from, digest, { data });
    const before = c.stats.bytesUploaded;
    expect(await c.pushBlob(to, digest, { data }, { mountFrom: from })).toBe('mounted');
    expect(c.stats.bytesUploaded).toBe(before);
    expect(await c.hasBlob(to, digest)).toBe(true);
  });

  it('puts manifests by digest and tag, reads them back with content negotiation, lists tags across pages', async () => {
    const c = client();
    const repo = uniqueName('oci/manifests');
    const { bytes, digest } = await pushImage(c, repo, randomBytes(100));
    for (const tag of ['a', 'b', 'c', 'd', 'e'])
      await c.putManifest(repo, tag, bytes, MediaType.imageManifest);
    const got = await c.getManifest(repo, 'c');
    expect(got?.digest).toBe(digest);
    expect(got?.mediaType).toBe(MediaType.imageManifest);
    expect((await c.headManifest(repo, 'e'))?.digest).toBe(digest);
    expect(await c.getManifest(repo, 'missing')).toBeUndefined();
    expect((await c.listTags(repo, 2)).sort()).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(await c.listTags(uniqueName('oci/none'))).toEqual([]);
  });
});

describe('tag listing', () => {
  it('follows Link pagination (distribution 2.8 ignores n, so a local server plays a paginating registry)', async () => {
    const all = ['t1', 't2', 't3', 't4', 't5'];
    const server = createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://x');
      const n = Number(url.searchParams.get('n') ?? 100);
      const last = url.searchParams.get('last');
      const start = last ? all.indexOf(last) + 1 : 0;
      const page = all.slice(start, start + n);
      if (start + n < all.length)
        res.setHeader('link', `</v2/r/tags/list?n=${n}&last=${page[page.length - 1]}>; rel="next"`);
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ name: 'r', tags: page }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const c = new RegistryClient({ host: `127.0.0.1:${(server.address() as AddressInfo).port}` });
      expect(await c.listTags('r', 2)).toEqual(all);
      expect(c.stats.requests.GET).toBe(3);
    } finally {
      server.close();
    }
  });
});

describe('failure kinds', () => {
  it('429 and 5xx are transient (with Retry-After), 4xx permanent with the registry error code', async () => {
    const statuses = [429, 503, 400];
    const server = createServer((_req, res) => {
      const status = statuses.shift() ?? 500;
      if (status === 429) res.setHeader('retry-after', '7');
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ errors: [{ code: 'TOOMANY', message: 'slow down' }] }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const c = new RegistryClient({ host: `127.0.0.1:${(server.address() as AddressInfo).port}` });
      const limited = await c.listTags('r').catch((e: unknown) => e);
      expect(limited).toBeInstanceOf(TransientError);
      expect((limited as TransientError).retryAfterMs).toBe(7000);
      await expect(c.listTags('r')).rejects.toBeInstanceOf(TransientError);
      await expect(c.listTags('r')).rejects.toThrow(
        /listing tags of r: .* HTTP 400 \(TOOMANY: slow down\)/,
      );
    } finally {
      server.close();
    }
  });
});

describe('digest verification on every read', () => {
  it('refuses a manifest or blob whose bytes do not match the digest', async () => {
    const real = Buffer.from('{"schemaVersion":2}');
    const digest = sha256Digest(real);
    const server = createServer((req, res) => {
      // A registry (or a proxy) that serves other bytes than asked for.
      res.setHeader('content-type', MediaType.imageManifest);
      res.setHeader('docker-content-digest', digest);
      res.end(req.method === 'HEAD' ? undefined : '{"schemaVersion":2,"evil":true}');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const c = new RegistryClient({ host: `127.0.0.1:${(server.address() as AddressInfo).port}` });
      await expect(c.getManifest('a', digest)).rejects.toThrow(/content is sha256:.*not sha256:/);
      await expect(c.getManifest('a', 'tag')).rejects.toBeInstanceOf(PermanentError);
      await expect(c.getBlob('a', digest)).rejects.toThrow(/does not match its digest/);
    } finally {
      server.close();
    }
  });
});
