import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import { canonicalJson, digestHex, sha256Digest } from './digest.ts';
import { parseIndex, type ParsedIndex } from './manifest-schema.ts';
import { MediaType, type Descriptor, type ImageIndex } from './media-types.ts';

/**
 * An OCI image layout on disk (`oci-layout`, `index.json`, `blobs/sha256/…`), as the image-spec
 * defines it: what builders write and what publish reads.
 */
export class OciLayout {
  constructor(readonly dir: string) {}

  /** Creates the folder and its `oci-layout` marker. */
  static async create(dir: string): Promise<OciLayout> {
    await mkdir(path.join(dir, 'blobs', 'sha256'), { recursive: true });
    await writeFile(path.join(dir, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
    return new OciLayout(dir);
  }

  blobPath(digest: string): string {
    return path.join(this.dir, 'blobs', 'sha256', digestHex(digest));
  }

  /** Writes bytes as a blob; returns its descriptor. */
  async writeBlob(data: Uint8Array | string, mediaType: string): Promise<Descriptor> {
    const bytes = typeof data === 'string' ? Buffer.from(data) : data;
    const digest = sha256Digest(bytes);
    await writeFile(this.blobPath(digest), bytes);
    return { mediaType, digest, size: bytes.byteLength };
  }

  /** Writes a JSON document with canonical key order, so equal content gives equal digests. */
  async writeJson(value: unknown, mediaType: string): Promise<Descriptor> {
    return this.writeBlob(canonicalJson(value), mediaType);
  }

  /** Streams a blob in, hashing on the way; never holds the whole blob in memory. */
  async writeBlobStream(source: Readable, mediaType: string): Promise<Descriptor> {
    const tmp = path.join(
      this.dir,
      'blobs',
      `.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`,
    );
    const hash = createHash('sha256');
    let size = 0;
    source.on('data', (chunk: Buffer) => {
      hash.update(chunk);
      size += chunk.length;
    });
    await pipeline(source, createWriteStream(tmp));
    const digest = `sha256:${hash.digest('hex')}`;
    await rename(tmp, this.blobPath(digest));
    return { mediaType, digest, size };
  }

  async hasBlob(digest: string): Promise<boolean> {
    return stat(this.blobPath(digest)).then(
      () => true,
      () => false,
    );
  }

  /** Reads a blob and checks its digest: a layout on disk is input like any other. */
  async readBlob(digest: string): Promise<Buffer> {
    const data = await readFile(this.blobPath(digest));
    if (sha256Digest(data) !== digest)
      throw new Error(`blob ${digest} in ${this.dir} does not match its digest`);
    return data;
  }

  blobStream(digest: string): Readable {
    return createReadStream(this.blobPath(digest));
  }

  async readJson<T>(digest: string): Promise<T> {
    return JSON.parse((await this.readBlob(digest)).toString('utf8')) as T;
  }

  async writeIndex(index: ImageIndex): Promise<void> {
    await writeFile(path.join(this.dir, 'index.json'), canonicalJson(index));
  }

  /** The layout's `index.json`, parsed: a file that is not an image index is refused naming it. */
  async readIndex(): Promise<ParsedIndex> {
    const file = path.join(this.dir, 'index.json');
    return parseIndex(await readFile(file), file);
  }

  /**
   * Records `image` (an image index or manifest) as the layout's one entry, tagged `refName`,
   * so `skopeo copy oci:<dir>:<refName>` and `umoci` find it.
   */
  async setRoot(image: Descriptor, refName?: string): Promise<void> {
    const entry: Descriptor = refName
      ? {
          ...image,
          annotations: { ...image.annotations, 'org.opencontainers.image.ref.name': refName },
        }
      : image;
    await this.writeIndex({
      schemaVersion: 2,
      mediaType: MediaType.imageIndex,
      manifests: [entry],
    });
  }

  async remove(): Promise<void> {
    await rm(this.dir, { recursive: true, force: true });
  }
}
