import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { PermanentError, TransientError } from '../errors.ts';
import { fetchBytes, HttpRefusal } from './http.ts';

/** A package file to fetch: where it is and what it must hash to. */
export interface DebRef {
  name: string;
  version: string;
  /** Mirror root URLs, tried in order. */
  mirrors: string[];
  /** Path under the mirror root (the index's Filename). */
  filename: string;
  size: number;
  sha256: string;
}

function sha256(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** The cache path of a blob: content-addressed, shared with the index cache. */
export function blobPath(cacheDir: string, hex: string): string {
  if (!/^[a-f0-9]{64}$/.test(hex)) throw new PermanentError(`not a sha256: ${JSON.stringify(hex)}`);
  return path.join(cacheDir, 'debian', 'blobs', 'sha256', hex);
}

/**
 * Returns a .deb's bytes, from the cache or the first mirror that has it, always checked against
 * the SHA256 the verified index (or the lockfile) gave: a tampered file is a permanent error and
 * is not kept. A mirror that is down or lacks the file (mid-sync) is passed over for the next.
 */
export async function fetchDeb(
  ref: DebRef,
  cacheDir: string,
  signal?: AbortSignal,
): Promise<Buffer> {
  if (ref.filename.split('/').includes('..') || ref.filename.startsWith('/')) {
    throw new PermanentError(
      `package ${ref.name} ${ref.version}: unsafe Filename ${JSON.stringify(ref.filename)}`,
    );
  }
  const file = blobPath(cacheDir, ref.sha256);
  const cached = await readFile(file).catch(() => undefined);
  if (cached && sha256(cached) === ref.sha256) return cached;
  const { url, body } = await fromMirrors(ref, signal);
  const actual = sha256(body);
  if (actual !== ref.sha256 || body.length !== ref.size) {
    throw new PermanentError(
      `package ${ref.name} ${ref.version} from ${url} does not match its index: sha256 ${actual} (${body.length} bytes), expected ${ref.sha256} (${ref.size} bytes); tampered .deb or inconsistent mirror`,
    );
  }
  await mkdir(path.dirname(file), { recursive: true });
  const tmp = `${file}.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`;
  await writeFile(tmp, body);
  await rename(tmp, file);
  return body;
}

async function fromMirrors(ref: DebRef, signal?: AbortSignal) {
  let last: unknown = new PermanentError(`package ${ref.name} ${ref.version}: no mirror given`);
  for (const mirror of ref.mirrors) {
    const url = `${mirror}/${ref.filename}`;
    try {
      const { body } = await fetchBytes(url, `package ${ref.name} ${ref.version}`, {
        signal,
        maxBytes: ref.size,
      });
      return { url, body };
    } catch (error) {
      if (!(error instanceof TransientError || error instanceof HttpRefusal)) throw error;
      last = error;
    }
  }
  throw last;
}
