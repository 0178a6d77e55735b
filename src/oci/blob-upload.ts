import { Readable } from 'node:stream';
import { PermanentError } from '../errors.ts';
import type { RegistryHttp } from './registry-http.ts';

/** Bytes to push: in memory, or a file opened afresh for each attempt. */
export type BlobSource = { data: Uint8Array } | { open: () => Readable; size: number };

export interface PushBlobOptions {
  /** Another repository on the same registry that holds the blob: mount instead of upload. */
  mountFrom?: string;
}

export type PushBlobOutcome = 'exists' | 'mounted' | 'uploaded';

/**
 * The upload half of a blob push (the caller has HEAD-checked it): POST a session, or a mount
 * from another repository; then one streaming PUT, or PATCH chunks with Content-Range and a
 * closing PUT when the blob is larger than `chunkSize`.
 */
export async function uploadBlob(
  http: RegistryHttp,
  repository: string,
  digest: string,
  source: BlobSource,
  options: PushBlobOptions,
  chunkSize: number,
): Promise<'mounted' | 'uploaded'> {
  const what = `pushing blob ${digest} to ${repository}`;
  const query = options.mountFrom
    ? `?mount=${encodeURIComponent(digest)}&from=${encodeURIComponent(options.mountFrom)}`
    : '';
  const start = await http.send({
    method: 'POST',
    path: `/v2/${repository}/blobs/uploads/${query}`,
    repository,
    push: true,
    ...(options.mountFrom ? { mountFrom: options.mountFrom } : {}),
    headers: { 'content-length': '0' },
    what,
  });
  await start.body?.cancel();
  if (start.status === 201) return 'mounted';
  if (start.status !== 202)
    throw new PermanentError(`${what}: upload start answered HTTP ${start.status}`);
  let uploadUrl = uploadLocation(http, start, what);
  const size = 'data' in source ? source.data.byteLength : source.size;
  if (size <= chunkSize) {
    await finishUpload(http, repository, uploadUrl, digest, size, source, what);
    return 'uploaded';
  }
  const stream = 'data' in source ? Readable.from([Buffer.from(source.data)]) : source.open();
  let offset = 0;
  for await (const chunk of chunksOf(stream, chunkSize)) {
    const res = await http.send({
      method: 'PATCH',
      path: uploadUrl,
      repository,
      push: true,
      headers: {
        'content-type': 'application/octet-stream',
        'content-length': String(chunk.length),
        'content-range': `${offset}-${offset + chunk.length - 1}`,
      },
      body: () => chunk,
      what: `${what} (chunk at ${offset})`,
    });
    await res.body?.cancel();
    if (res.status !== 202)
      throw new PermanentError(`${what}: chunk at ${offset} answered HTTP ${res.status}`);
    uploadUrl = uploadLocation(http, res, what);
    offset += chunk.length;
  }
  await finishUpload(http, repository, uploadUrl, digest, 0, { data: new Uint8Array() }, what);
  return 'uploaded';
}

async function finishUpload(
  http: RegistryHttp,
  repository: string,
  location: string,
  digest: string,
  size: number,
  source: BlobSource,
  what: string,
): Promise<void> {
  const url = new URL(location);
  url.searchParams.set('digest', digest);
  const res = await http.send({
    method: 'PUT',
    path: url.toString(),
    repository,
    push: true,
    headers: { 'content-type': 'application/octet-stream', 'content-length': String(size) },
    body: () =>
      'data' in source
        ? source.data
        : (Readable.toWeb(source.open()) as ReadableStream<Uint8Array>),
    what,
  });
  await res.body?.cancel();
  if (res.status !== 201) throw new PermanentError(`${what}: upload answered HTTP ${res.status}`);
  const stored = res.headers.get('docker-content-digest');
  if (stored && stored !== digest) {
    throw new PermanentError(`${what}: the registry stored ${stored} instead`);
  }
}

function uploadLocation(http: RegistryHttp, res: Response, what: string): string {
  const value = res.headers.get('location');
  if (!value) throw new PermanentError(`${what}: the registry gave no upload location`);
  return new URL(value, http.baseUrl).toString();
}

/** Re-slices a stream into chunks of exactly `size` bytes (the last one shorter). */
async function* chunksOf(stream: Readable, size: number): AsyncGenerator<Buffer> {
  let pending: Buffer[] = [];
  let length = 0;
  for await (const piece of stream) {
    let buf = Buffer.isBuffer(piece) ? piece : Buffer.from(piece as Uint8Array);
    while (length + buf.length >= size) {
      const take = size - length;
      pending.push(buf.subarray(0, take));
      yield Buffer.concat(pending);
      pending = [];
      length = 0;
      buf = buf.subarray(take);
    }
    if (buf.length > 0) {
      pending.push(buf);
      length += buf.length;
    }
  }
  if (length > 0) yield Buffer.concat(pending);
}
