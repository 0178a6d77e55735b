import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { canonicalJson } from '../../oci/digest.ts';
import type { PathIndex } from './rootfs.ts';

/*
 * A cache of what the builder derives from each .deb, under KILN_CACHE_DIR/debian: the path
 * index of a package (so a warm build need not unpack it to plan the tree) and finished layers
 * keyed by everything that decides their bytes. Blobs live in the same content-addressed store
 * as the archive files and are hashed again when read; a broken entry is just a miss.
 */

const pathIndexSchema = z.object({
  links: z.array(z.tuple([z.string(), z.string()])),
  paths: z.array(z.string()),
  dirs: z.array(z.string()),
  mtime: z.number().int(),
});

const layerRecordSchema = z.object({
  digest: z.string().regex(/^sha256:[a-f0-9]{64}$/),
  diffId: z.string().regex(/^sha256:[a-f0-9]{64}$/),
  size: z.number().int().nonnegative(),
  licenses: z.record(z.string(), z.string()),
});

export type CachedPathIndex = z.infer<typeof pathIndexSchema>;
export type LayerRecord = z.infer<typeof layerRecordSchema>;

const hex = (data: Uint8Array | string): string => createHash('sha256').update(data).digest('hex');

async function readJson<T>(file: string, schema: z.ZodType<T>): Promise<T | undefined> {
  const text = await readFile(file, 'utf8').catch(() => undefined);
  if (text === undefined) return undefined;
  try {
    const parsed = schema.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

async function atomicWrite(file: string, data: string | Uint8Array): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  const tmp = `${file}.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`;
  await writeFile(tmp, data);
  await rename(tmp, file);
}

export function layerCache(cacheDir: string) {
  const root = path.join(cacheDir, 'debian');
  const blob = (digest: string): string =>
    path.join(root, 'blobs', 'sha256', digest.replace(/^sha256:/, ''));
  return {
    readPathIndex: (debSha256: string) =>
      readJson(path.join(root, 'path-index', `${debSha256}.json`), pathIndexSchema),
    writePathIndex: (debSha256: string, index: PathIndex, mtime: number) =>
      atomicWrite(
        path.join(root, 'path-index', `${debSha256}.json`),
        JSON.stringify({ ...index, mtime }),
      ),
    /** A finished layer and its gzip blob, checked against its digest; undefined on any doubt. */
    async readLayer(key: string): Promise<{ record: LayerRecord; blob: Buffer } | undefined> {
      const record = await readJson(path.join(root, 'layers', `${key}.json`), layerRecordSchema);
      if (!record) return undefined;
      const data = await readFile(blob(record.digest)).catch(() => undefined);
      if (!data || `sha256:${hex(data)}` !== record.digest) return undefined;
      return { record, blob: data };
    },
    async writeLayer(key: string, record: LayerRecord, data: Buffer): Promise<void> {
      await atomicWrite(blob(record.digest), data);
      await atomicWrite(path.join(root, 'layers', `${key}.json`), JSON.stringify(record));
    },
  };
}

/** The cache key of a layer: a digest of every input that decides its bytes. */
export function layerKey(parts: unknown): string {
  return hex(canonicalJson(parts));
}
