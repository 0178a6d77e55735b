import { gunzipSync } from 'node:zlib';
import { xz } from '@napi-rs/lzma';
import { decompress as zstdDecompress } from 'fzstd';

export type Compression = 'xz' | 'zst' | 'gz' | 'none';

/** The compression a Debian file name implies (`Packages.xz`, `data.tar.zst`…). */
export function compressionOf(name: string): Compression | undefined {
  if (name.endsWith('.xz')) return 'xz';
  if (name.endsWith('.zst')) return 'zst';
  if (name.endsWith('.gz')) return 'gz';
  if (!/\.[a-z0-9]+$/.test(name) || name.endsWith('.tar')) return 'none';
  return undefined;
}

/** Decompresses a whole buffer; Debian's members and indexes are bounded, so memory is fine. */
export async function decompress(
  data: Uint8Array,
  compression: Compression,
  signal?: AbortSignal,
): Promise<Buffer> {
  switch (compression) {
    case 'xz':
      // Not given the signal: @napi-rs/lzma refuses a plain AbortSignal (InvalidArg); the
      // caller checks it between files instead.
      signal?.throwIfAborted();
      return xz.decompress(data);
    case 'zst':
      return Buffer.from(zstdDecompress(data));
    case 'gz':
      return gunzipSync(data);
    case 'none':
      return Buffer.from(data);
  }
}
