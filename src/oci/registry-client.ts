import { z } from 'zod';
import { PermanentError } from '../errors.ts';
import { isDigest, sha256Digest } from './digest.ts';
import { Limits } from './limits.ts';
import { MediaType } from './media-types.ts';
import { readCapped, streamToFile } from './read-body.ts';
import {
  uploadBlob,
  type BlobSource,
  type PushBlobOptions,
  type PushBlobOutcome,
} from './blob-upload.ts';
import { RegistryHttp, type RegistryHttpOptions, type RegistryStats } from './registry-http.ts';

export type { BlobSource, PushBlobOptions, PushBlobOutcome } from './blob-upload.ts';

export interface FetchedManifest {
  bytes: Buffer;
  mediaType: string;
  digest: string;
}

export interface ManifestHead {
  digest: string;
  mediaType: string;
  size: number;
}

/** What kiln accepts when it reads a manifest: OCI first, Docker v2 for images made elsewhere. */
export const manifestAccept = [
  MediaType.imageIndex,
  MediaType.imageManifest,
  MediaType.dockerManifestList,
  MediaType.dockerManifest,
].join(', ');

export interface RegistryClientOptions extends RegistryHttpOptions {
  /** Blobs larger than this are uploaded in chunks of this size (PATCH with Content-Range). */
  chunkSize?: number;
}

/** Bounds of a blob read: see {@link Limits}. */
export interface BlobReadOptions {
  /** Refuse more than this many bytes. */
  maxBytes?: number;
  /** The size its descriptor declares: a body of another size is refused. */
  expectedSize?: number;
}

const tagList = z.object({ tags: z.array(z.string()).nullable().optional() });

/**
 * A client for the OCI distribution spec: blobs (HEAD before upload, monolithic and chunked
 * uploads, cross-repository mount), manifests by digest and tag with content negotiation, tag
 * listing with Link pagination. Every read is checked against its digest and capped (see
 * {@link Limits}): manifests at 4 MiB as containers/image does, blobs streamed to disk.
 */
export class RegistryClient {
  readonly http: RegistryHttp;
  private readonly chunkSize: number;

  constructor(options: RegistryClientOptions) {
    this.http = new RegistryHttp(options);
    this.chunkSize = options.chunkSize ?? 32 * 1024 * 1024;
  }

  get host(): string {
    return this.http.host;
  }

  get stats(): RegistryStats {
    return this.http.stats;
  }

  async hasBlob(repository: string, digest: string): Promise<boolean> {
    checkDigest(digest);
    const res = await this.http.send({
      method: 'HEAD',
      path: `/v2/${repository}/blobs/${digest}`,
      repository,
      what: `checking blob ${digest} in ${repository}`,
    });
    return res.status === 200;
  }

  /** Pushes a blob unless the repository has it; mounts it from `mountFrom` when possible. */
  async pushBlob(
    repository: string,
    digest: string,
    source: BlobSource,
    options: PushBlobOptions = {},
  ): Promise<PushBlobOutcome> {
    checkDigest(digest);
    if (await this.hasBlob(repository, digest)) return 'exists';
    return uploadBlob(this.http, repository, digest, source, options, this.chunkSize);
  }

  /**
   * Reads a small blob (a config, a signature payload, an attestation) into memory and checks its
   * digest; refuses one past `maxBytes` (default {@link Limits.configBytes}) or its descriptor's
   * size. Undefined when the repository does not have it. Layers go through {@link downloadBlob}.
   */
  async getBlob(
    repository: string,
    digest: string,
    options: BlobReadOptions = {},
  ): Promise<Buffer | undefined> {
    checkDigest(digest);
    const what = `reading blob ${digest} from ${repository}`;
    const res = await this.blobResponse(repository, digest, what);
    if (!res) return undefined;
    const bytes = await readCapped(res, {
      maxBytes: options.maxBytes ?? Limits.configBytes,
      expectedSize: options.expectedSize,
      what,
    });
    this.http.stats.bytesDownloaded += bytes.length;
    if (sha256Digest(bytes) !== digest)
      throw new PermanentError(`${what}: content does not match its digest`);
    return bytes;
  }

  /**
   * Streams a blob to `file` (created, never overwritten), checking its digest on the way; never
   * holds it in memory. Refuses one past `maxBytes` (default {@link Limits.blobBytes}) or its
   * descriptor's size; the file is removed on failure. False when the repository does not have it.
   */
  async downloadBlob(
    repository: string,
    digest: string,
    file: string,
    options: BlobReadOptions = {},
  ): Promise<boolean> {
    checkDigest(digest);
    const what = `downloading blob ${digest} from ${repository}`;
    const res = await this.blobResponse(repository, digest, what);
    if (!res) return false;
    const size = await streamToFile(res, file, digest, {
      maxBytes: options.maxBytes ?? Limits.blobBytes,
      expectedSize: options.expectedSize,
      what,
    });
    this.http.stats.bytesDownloaded += size;
    return true;
  }

  private async blobResponse(
    repository: string,
    digest: string,
    what: string,
  ): Promise<Response | undefined> {
    const res = await this.http.send({
      method: 'GET',
      path: `/v2/${repository}/blobs/${digest}`,
      repository,
      what,
    });
    if (res.status !== 404) return res;
    await res.body?.cancel();
    return undefined;
  }

  /** PUTs a manifest or index by tag or digest; returns its digest, checked against the registry's. */
  async putManifest(
    repository: string,
    reference: string,
    bytes: Uint8Array,
    mediaType: string,
  ): Promise<string> {
    const digest = sha256Digest(bytes);
    const what = `pushing manifest ${digest} to ${repository}:${reference}`;
    if (isDigest(reference) && reference !== digest)
      throw new PermanentError(`${what}: bytes do not match the digest`);
    const res = await this.http.send({
      method: 'PUT',
      path: `/v2/${repository}/manifests/${reference}`,
      repository,
      push: true,
      headers: { 'content-type': mediaType, 'content-length': String(bytes.byteLength) },
      body: () => bytes,
      what,
    });
    await res.body?.cancel();
    if (res.status !== 201) throw new PermanentError(`${what}: answered HTTP ${res.status}`);
    const stored = res.headers.get('docker-content-digest');
    if (stored && stored !== digest)
      throw new PermanentError(`${what}: the registry stored ${stored} instead`);
    return digest;
  }

  /** GETs a manifest by tag or digest with content negotiation; undefined when absent. */
  async getManifest(
    repository: string,
    reference: string,
    accept = manifestAccept,
  ): Promise<FetchedManifest | undefined> {
    const what = `reading manifest ${repository}:${reference}`;
    const res = await this.http.send({
      method: 'GET',
      path: `/v2/${repository}/manifests/${reference}`,
      repository,
      headers: { accept },
      what,
    });
    if (res.status === 404) {
      await res.body?.cancel();
      return undefined;
    }
    const bytes = await readCapped(res, { maxBytes: Limits.manifestBytes, what });
    this.http.stats.bytesDownloaded += bytes.length;
    const digest = sha256Digest(bytes);
    const claimed = isDigest(reference) ? reference : res.headers.get('docker-content-digest');
    if (claimed && claimed !== digest)
      throw new PermanentError(`${what}: content is ${digest}, not ${claimed}`);
    const mediaType = res.headers.get('content-type')?.split(';')[0]?.trim() || mediaTypeOf(bytes);
    return { bytes, mediaType, digest };
  }

  /** HEADs a manifest: its digest, type and size without the body. Undefined when absent. */
  async headManifest(
    repository: string,
    reference: string,
    accept = manifestAccept,
  ): Promise<ManifestHead | undefined> {
    const res = await this.http.send({
      method: 'HEAD',
      path: `/v2/${repository}/manifests/${reference}`,
      repository,
      headers: { accept },
      what: `checking manifest ${repository}:${reference}`,
    });
    if (res.status === 404) return undefined;
    const digest = res.headers.get('docker-content-digest');
    if (!digest || !isDigest(digest)) {
      // Without the header the only trustworthy digest is the one computed from the body.
      const full = await this.getManifest(repository, reference, accept);
      return full && { digest: full.digest, mediaType: full.mediaType, size: full.bytes.length };
    }
    return {
      digest,
      mediaType: res.headers.get('content-type')?.split(';')[0]?.trim() ?? '',
      size: Number(res.headers.get('content-length') ?? 0),
    };
  }

  async deleteManifest(repository: string, digest: string): Promise<void> {
    checkDigest(digest);
    const res = await this.http.send({
      method: 'DELETE',
      path: `/v2/${repository}/manifests/${digest}`,
      repository,
      push: true,
      what: `deleting manifest ${digest} from ${repository}`,
    });
    await res.body?.cancel();
  }

  /** Every tag of a repository, following `Link: <…>; rel="next"` pages. Empty for an unknown repository. */
  async listTags(repository: string, pageSize = 100): Promise<string[]> {
    const tags: string[] = [];
    let next: string | undefined = `/v2/${repository}/tags/list?n=${pageSize}`;
    for (let page = 0; next && page < 10_000; page++) {
      const res = await this.http.send({
        method: 'GET',
        path: next,
        repository,
        what: `listing tags of ${repository}`,
      });
      if (res.status === 404) {
        await res.body?.cancel();
        return tags;
      }
      const body = await readCapped(res, {
        maxBytes: Limits.tagListBytes,
        what: `listing tags of ${repository}`,
      });
      const parsed = tagList.safeParse(parseJsonOrUndefined(body));
      if (!parsed.success)
        throw new PermanentError(
          `listing tags of ${repository}: the registry sent an unexpected body`,
        );
      tags.push(...(parsed.data.tags ?? []));
      next = nextLink(res.headers.get('link'), this.http.baseUrl);
    }
    return tags;
  }
}

function checkDigest(digest: string): void {
  if (!isDigest(digest)) throw new PermanentError(`not a sha256 digest: ${JSON.stringify(digest)}`);
}

function parseJsonOrUndefined(bytes: Buffer): unknown {
  try {
    return JSON.parse(bytes.toString('utf8'));
  } catch {
    return undefined;
  }
}

function mediaTypeOf(bytes: Buffer): string {
  try {
    const parsed = JSON.parse(bytes.toString('utf8')) as { mediaType?: unknown };
    return typeof parsed.mediaType === 'string' ? parsed.mediaType : '';
  } catch {
    return '';
  }
}

/** The `rel="next"` target of an RFC 8288 Link header, resolved against the registry. */
export function nextLink(header: string | null, base: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(',')) {
    const m = /<([^>]+)>\s*;\s*rel="?next"?/i.exec(part);
    if (m?.[1]) return new URL(m[1], base).toString();
  }
  return undefined;
}
