import { compareImages, type ImageDiff } from './compare.ts';
import { readSide, type SideConfig } from './read-side.ts';

export interface DiffOptions {
  /** The first image: a registry reference or an OCI layout (`oci:<dir>[:ref]`). */
  a: string;
  /** The second image, in the same forms. */
  b: string;
  config: SideConfig;
}

/** Reads both images (layers per arch, packages from SPDX or dpkg status) and compares them. */
export async function diffImages(options: DiffOptions): Promise<ImageDiff> {
  const [a, b] = await Promise.all([
    readSide(options.a, options.config),
    readSide(options.b, options.config),
  ]);
  return compareImages(a, b);
}
