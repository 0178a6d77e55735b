import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { once } from 'node:events';
import { PermanentError } from '../errors.ts';
import { formatBytes } from './limits.ts';

/** Bounds of one body read: the limit, and the size the descriptor promised, if known. */
export interface BodyLimit {
  maxBytes: number;
  /** A descriptor's `size`: more bytes than this is refused too. */
  expectedSize?: number;
  /** What is read, for messages: "reading manifest kiln/demo:latest". */
  what: string;
  /**
   * The error for a body over the limit, when the caller words it its own way; `detail` says how
   * it was found out ("Content-Length is 9000000", "more than 4 MiB arrived").
   */
  tooLarge?: (max: number, detail: string) => Error;
}

/** What the readers need of a response: the global fetch's and undici's both fit. */
export interface BodySource {
  headers: { get(name: string): string | null };
  body: ReadableStream<Uint8Array> | null;
}

/**
 * Reads a response body into memory, refusing it as soon as it passes `maxBytes` (or the expected
 * size): first from Content-Length, then while reading, so a body without one (chunked) or with a
 * lying one is cut off after at most one chunk past the limit and the connection is dropped.
 * kiln's one capped reader: the registry client, the upstream sources and the Debian mirror
 * client all read through it.
 */
export async function readCapped(res: BodySource, limit: BodyLimit): Promise<Buffer> {
  const max = effectiveMax(limit);
  await refuseByLength(res, limit, max);
  const reader = res.body?.getReader();
  if (!reader) return Buffer.alloc(0);
  const chunks: Buffer[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > max) {
      await reader.cancel().catch(() => {});
      throw tooLarge(limit, max, `more than ${formatBytes(max)} arrived`);
    }
    chunks.push(Buffer.from(value.buffer, value.byteOffset, value.byteLength));
  }
  return Buffer.concat(chunks, total);
}

/**
 * Streams a response body to `file`, hashing on the way, never holding it in memory. Refuses it
 * past `maxBytes` or the expected size, and when its digest is not `digest`; the file is removed
 * on any failure.
 */
export async function streamToFile(
  res: BodySource,
  file: string,
  digest: string,
  limit: BodyLimit,
): Promise<number> {
  const max = effectiveMax(limit);
  await refuseByLength(res, limit, max);
  const hash = createHash('sha256');
  const out = createWriteStream(file, { flags: 'wx' });
  const reader = res.body?.getReader();
  let total = 0;
  try {
    for (;;) {
      if (!reader) break;
      const { done, value } = await reader.read();
      if (done) break;
      total += value.byteLength;
      if (total > max) {
        await reader.cancel().catch(() => {});
        throw tooLarge(limit, max, `more than ${formatBytes(max)} arrived`);
      }
      hash.update(value);
      if (!out.write(value)) await once(out, 'drain');
    }
    out.end();
    await once(out, 'close');
    if (limit.expectedSize !== undefined && total !== limit.expectedSize)
      throw new PermanentError(
        `${limit.what}: ${total} bytes arrived, its descriptor says ${limit.expectedSize}`,
      );
    const got = `sha256:${hash.digest('hex')}`;
    if (got !== digest) throw new PermanentError(`${limit.what}: content is ${got}, not ${digest}`);
    return total;
  } catch (error) {
    out.destroy();
    await rm(file, { force: true });
    throw error;
  }
}

function effectiveMax(limit: BodyLimit): number {
  return limit.expectedSize !== undefined
    ? Math.min(limit.maxBytes, limit.expectedSize)
    : limit.maxBytes;
}

async function refuseByLength(res: BodySource, limit: BodyLimit, max: number): Promise<void> {
  if (limit.expectedSize !== undefined && limit.expectedSize > limit.maxBytes)
    throw await cancelled(
      res,
      tooLarge(limit, limit.maxBytes, `its descriptor says ${limit.expectedSize} bytes`),
    );
  const header = res.headers.get('content-length');
  const declared = header === null ? NaN : Number(header);
  if (Number.isFinite(declared) && declared > max)
    throw await cancelled(res, tooLarge(limit, max, `Content-Length is ${declared}`));
}

async function cancelled(res: BodySource, error: Error): Promise<Error> {
  await res.body?.cancel().catch(() => {});
  return error;
}

function tooLarge(limit: BodyLimit, max: number, detail: string): Error {
  if (limit.tooLarge) return limit.tooLarge(max, detail);
  const bound =
    limit.expectedSize !== undefined && max === limit.expectedSize
      ? `its descriptor's size (${max} bytes)`
      : `the ${formatBytes(limit.maxBytes)} limit`;
  return new PermanentError(`${limit.what}: refusing a body larger than ${bound} (${detail})`);
}

/** At most `maxBytes` of a body as text, for error messages; the rest is never read. */
export async function readTextPrefix(res: BodySource, maxBytes: number): Promise<string> {
  const reader = res.body?.getReader();
  if (!reader) return '';
  const chunks: Buffer[] = [];
  let total = 0;
  try {
    while (total < maxBytes) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(Buffer.from(value.buffer, value.byteOffset, value.byteLength));
      total += value.byteLength;
    }
  } catch {
    // a broken error body: what arrived is enough
  }
  await reader.cancel().catch(() => {});
  return Buffer.concat(chunks).subarray(0, maxBytes).toString('utf8');
}
