import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';

const descriptor = z.object({
  digest: z.string().regex(/^sha256:[a-f0-9]{64}$/),
  size: z.number().int().nonnegative(),
  platform: z.object({ architecture: z.string() }).optional(),
});
const index = z.object({
  manifests: z.array(descriptor),
  annotations: z.record(z.string(), z.string()).optional(),
});
const manifest = z.object({ config: descriptor, layers: z.array(descriptor) });

async function blob(dir: string, digest: string): Promise<unknown> {
  const hex = digest.slice('sha256:'.length);
  return JSON.parse(await readFile(path.join(dir, 'blobs', 'sha256', hex), 'utf8'));
}

/**
 * Compressed size (config + layers, what a pull downloads) of each platform of the image in an
 * OCI layout: the layout's root index, or the image index it points at.
 */
export async function sizesByArch(dir: string): Promise<Map<string, number>> {
  let top = index.parse(JSON.parse(await readFile(path.join(dir, 'index.json'), 'utf8')));
  const first = top.manifests[0];
  if (top.manifests.length === 1 && first && !first.platform) {
    const inner = index.safeParse(await blob(dir, first.digest));
    if (inner.success) top = inner.data;
  }
  const out = new Map<string, number>();
  for (const m of top.manifests) {
    if (!m.platform) continue;
    const image = manifest.parse(await blob(dir, m.digest));
    out.set(
      m.platform.architecture,
      image.config.size + image.layers.reduce((sum, l) => sum + l.size, 0),
    );
  }
  return out;
}

/** The upstream version of the image in an OCI layout (its index's `org.opencontainers.image.version`). */
export async function layoutVersion(dir: string): Promise<string | undefined> {
  const top = index.parse(JSON.parse(await readFile(path.join(dir, 'index.json'), 'utf8')));
  const version = (i: z.infer<typeof index>) => i.annotations?.['org.opencontainers.image.version'];
  const first = top.manifests[0];
  if (version(top) || !first || first.platform) return version(top);
  const inner = index.safeParse(await blob(dir, first.digest));
  return inner.success ? version(inner.data) : undefined;
}
