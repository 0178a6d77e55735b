import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { PermanentError, TransientError } from '../../src/errors.ts';
import { sha256Digest } from '../../src/oci/digest.ts';
import { Limits } from '../../src/oci/limits.ts';
import { parseIndex, parseManifest } from '../../src/oci/manifest-schema.ts';
import { MediaType } from '../../src/oci/media-types.ts';
import { parseReference } from '../../src/oci/reference.ts';
import { RegistryClient } from '../../src/oci/registry-client.ts';
import { signatureTag } from '../../src/sign/cosign-objects.ts';
import { verifyImage } from '../../src/sign/verify.ts';
import {
  startHostileRegistry,
  type HostileAnswer,
  type HostileRegistry,
} from '../servers/hostile-registry.ts';

/** What a hostile registry offers: 400 MB, the size that took `kiln verify` to 551 MB RSS. */
const offered = 400 * 1000 * 1000;
/**
 * What a capped client may let through before it hangs up: the 4 MiB cap plus what loopback
 * socket buffers hold on both sides. An uncapped client takes all 400 MB.
 */
const bound = 32 * 1024 * 1024;

const servers: HostileRegistry[] = [];
const dirs: string[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await s.close();
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

async function hostile(route: (method: string, p: string) => HostileAnswer) {
  const server = await startHostileRegistry(route);
  servers.push(server);
  return { server, client: new RegistryClient({ host: server.host }) };
}

const digestOf = (s: string) => sha256Digest(s);
const huge = (framing: HostileAnswer['framing']): HostileAnswer => ({
  status: 200,
  headers: { 'content-type': MediaType.imageManifest },
  stream: { bytes: offered },
  framing,
});

describe('a registry that sends far too much', () => {
  it.each([
    ['chunked, no Content-Length', 'chunked' as const, /more than 4 MiB arrived/],
    ['an honest Content-Length', 'length' as const, /Content-Length is 400000000/],
  ])(
    'refuses a 400 MB manifest sent with %s, hanging up early',
    async (_label, framing, detail) => {
      const { server, client } = await hostile(() => huge(framing));
      const read = client.getManifest('kiln/demo', 'latest');
      await expect(read).rejects.toThrow(PermanentError);
      await expect(read).rejects.toThrow(
        /reading manifest kiln\/demo:latest: refusing a body larger than the 4 MiB limit/,
      );
      await expect(read).rejects.toThrow(detail);
      await server.settled();
      expect(server.sent()).toBeLessThan(bound);
    },
  );

  it('refuses a lying Content-Length: only what it declares is read, and the digest catches it', async () => {
    const wanted = digestOf('the real manifest');
    const { server, client } = await hostile(() => huge(1024));
    await expect(client.getManifest('kiln/demo', wanted)).rejects.toThrow(
      /reading manifest kiln\/demo@?:?sha256:[a-f0-9]{64}: content is sha256:[a-f0-9]{64}, not/,
    );
    await server.settled();
    expect(server.sent()).toBeLessThan(bound);
  });

  it('kiln verify refuses a 400 MB signature manifest with a clear message', async () => {
    const image = `sha256:${'a'.repeat(64)}`;
    const sig = signatureTag(image);
    const { server, client } = await hostile((method, p) => {
      if (p.endsWith('/manifests/latest'))
        return {
          status: 200,
          headers: { 'docker-content-digest': image, 'content-type': MediaType.imageIndex },
          body: method === 'HEAD' ? '' : '{}',
        };
      if (p.endsWith(`/manifests/${sig}`)) return huge('chunked');
      return { status: 404, body: '{"errors":[{"code":"MANIFEST_UNKNOWN"}]}' };
    });
    const key = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey;
    const verify = verifyImage(client, parseReference(`${server.host}/kiln/demo:latest`), key);
    await expect(verify).rejects.toThrow(
      new RegExp(`reading manifest kiln/demo:${sig}: refusing a body larger than the 4 MiB limit`),
    );
    await server.settled();
    expect(server.sent()).toBeLessThan(bound);
  });

  it('reads a blob no larger than its descriptor says, and no larger than the cap', async () => {
    const digest = digestOf('x');
    const { server, client } = await hostile(() => ({
      status: 200,
      stream: { bytes: offered },
      framing: 'chunked',
    }));
    await expect(client.getBlob('kiln/demo', digest, { expectedSize: 1000 })).rejects.toThrow(
      /refusing a body larger than its descriptor's size \(1000 bytes\)/,
    );
    await expect(client.getBlob('kiln/demo', digest)).rejects.toThrow(
      /refusing a body larger than the 4 MiB limit/,
    );
    await expect(
      client.getBlob('kiln/demo', digest, { expectedSize: Limits.signatureBytes + 1 }),
    ).rejects.toThrow(/its descriptor says 4194305 bytes/);
    await server.settled();
    expect(server.sent()).toBeLessThan(2 * bound);
  });

  it('keeps at most 64 KiB of a 400 MB error body', async () => {
    const { server, client } = await hostile(() => ({
      status: 500,
      stream: { bytes: offered, fill: 0x41 },
      framing: 'chunked',
    }));
    const read = client.getManifest('kiln/demo', 'latest');
    await expect(read).rejects.toThrow(TransientError);
    await expect(read).rejects.toThrow(/answered HTTP 500 \(A{200}\)$/);
    await server.settled();
    expect(server.sent()).toBeLessThan(bound);
  });

  it('refuses a 400 MB bearer-token answer', async () => {
    const { server, client } = await hostile((_m, p) => {
      if (p.startsWith('/token')) return huge('chunked');
      return {
        status: 401,
        headers: {
          'www-authenticate': `Bearer realm="http://${servers.at(-1)?.host}/token",service="x"`,
        },
        body: '{}',
      };
    });
    await expect(client.getManifest('kiln/demo', 'latest')).rejects.toThrow(
      /reading a registry token from http:\/\/127\.0\.0\.1:\d+: refusing a body larger than the 1 MiB limit/,
    );
    await server.settled();
    expect(server.sent()).toBeLessThan(bound);
  });
});

describe('blobs streamed to disk', () => {
  const temp = async () => {
    const d = await mkdtemp(path.join(os.tmpdir(), 'kiln-blob-'));
    dirs.push(d);
    return d;
  };

  it('writes a blob to a file with its digest checked', async () => {
    const content = Buffer.alloc(8 * 1024 * 1024, 0x5a);
    const digest = sha256Digest(content);
    const { client } = await hostile(() => ({ status: 200, body: content }));
    const file = path.join(await temp(), 'blob');
    expect(
      await client.downloadBlob('kiln/demo', digest, file, { expectedSize: content.length }),
    ).toBe(true);
    expect(sha256Digest(await readFile(file))).toBe(digest);
  });

  it('removes the file and names the digest when the content is wrong', async () => {
    const digest = digestOf('what was asked for');
    const { client } = await hostile(() => ({ status: 200, body: 'something else' }));
    const file = path.join(await temp(), 'blob');
    await expect(client.downloadBlob('kiln/demo', digest, file)).rejects.toThrow(
      new RegExp(`downloading blob ${digest} from kiln/demo: content is sha256:[a-f0-9]{64}, not`),
    );
    await expect(stat(file)).rejects.toThrow();
  });

  it('stops a blob at its descriptor size, removing the file, and hangs up', async () => {
    const digest = digestOf('x');
    const { server, client } = await hostile(() => ({
      status: 200,
      stream: { bytes: offered },
      framing: 'chunked',
    }));
    const file = path.join(await temp(), 'blob');
    await expect(
      client.downloadBlob('kiln/demo', digest, file, { expectedSize: 1024 * 1024 }),
    ).rejects.toThrow(/refusing a body larger than its descriptor's size \(1048576 bytes\)/);
    await expect(stat(file)).rejects.toThrow();
    await server.settled();
    expect(server.sent()).toBeLessThan(bound);
  });
});

describe('layer and manifest counts', () => {
  const descriptor = (i: number) => ({
    mediaType: MediaType.layerGzip,
    digest: `sha256:${i.toString(16).padStart(64, '0')}`,
    size: 1,
  });
  const manifest = (layers: number) =>
    Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        config: descriptor(0),
        layers: Array.from({ length: layers }, (_, i) => descriptor(i)),
      }),
    );

  it('refuses a manifest with 100,000 layers, and one with a layer past the size bound', () => {
    expect(() => parseManifest(manifest(100_000), 'manifest m')).toThrow(
      /manifest m: not an image manifest \(more than 1000 layers/,
    );
    expect(() => parseManifest(manifest(1001), 'manifest m')).toThrow(/more than 1000 layers/);
    expect(parseManifest(manifest(1000), 'manifest m').layers).toHaveLength(1000);
    const oversized = JSON.parse(manifest(1).toString()) as { layers: { size: number }[] };
    oversized.layers[0]!.size = Limits.blobBytes + 1;
    expect(() => parseManifest(Buffer.from(JSON.stringify(oversized)), 'manifest m')).toThrow(
      /a descriptor may declare at most 16384 MiB/,
    );
  });

  it('refuses an index with 100,000 manifests', () => {
    const index = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        manifests: Array.from({ length: 100_000 }, (_, i) => descriptor(i)),
      }),
    );
    expect(() => parseIndex(index, 'index i')).toThrow(/more than 1000 manifests/);
  });
});
