/*
 * Google distroless's published sizes, for the images it has a counterpart of. The distroless
 * README gives the static image's size ("around 2 MiB"); the others are the compressed sizes that
 * public comparisons quote for the Debian 12 images (approximate, mid-2025). They are a yardstick
 * typed in by hand, not measured here: this machine cannot reach gcr.io.
 */
export interface PublishedSize {
  image: string;
  bytes: number;
  source: string;
}

const MiB = 1024 * 1024;
const MB = 1e6;

export const distrolessSizes: ReadonlyMap<string, PublishedSize> = new Map([
  ['static', { image: 'static-debian12', bytes: 2 * MiB, source: 'distroless README' }],
  ['base', { image: 'base-debian12', bytes: 20 * MB, source: 'public comparison' }],
  ['python', { image: 'python3-debian12', bytes: 50 * MB, source: 'public comparison' }],
  ['nodejs', { image: 'nodejs20-debian12', bytes: 55 * MB, source: 'public comparison' }],
  ['java', { image: 'java21-debian12', bytes: 220 * MB, source: 'public comparison' }],
]);
