import type { CatalogRecord } from './record.ts';

/*
 * A recipe's variants (`static-dev`) are images of their own in the catalog (own records, tags,
 * freshness and CVE scans), published to the main image's repository. A consumer reads them as
 * one entry: the main image with its variants beside it, as Chainguard's directory shows
 * `latest` and `latest-dev`. This groups the catalog's images into such families.
 */

/** What the catalog knows of an image's variant: its name (`dev`) and main image, if known. */
export interface VariantInfo {
  name: string;
  of?: string | undefined;
}

/**
 * The variant an image's record is of, or undefined for a main image. Records say so
 * (`variant`); older ones are recognised by their exact tag (`X.Y.Z-rN-dev`, first in `tags`).
 */
export function variantOfRecord(
  record: Pick<CatalogRecord, 'variant' | 'tags' | 'epoch'>,
): VariantInfo | undefined {
  if (record.variant) return record.variant;
  const exact = record.tags[0] ?? '';
  const suffix = new RegExp(`-r${record.epoch}-([a-z][a-z0-9]*)$`).exec(exact)?.[1];
  return suffix ? { name: suffix } : undefined;
}

/** An image the catalog groups: its name and latest record are all grouping needs. */
export interface Groupable {
  name: string;
  latest: CatalogRecord;
}

/** One entry of the catalog: a main image and its variants (by variant name), or a lone variant. */
export interface ImageFamily<T extends Groupable> {
  main: T;
  variants: T[];
}

/** Whether `variant` is a variant of `main`: same repository, named after it when the record says. */
function belongsTo(variant: Groupable, info: VariantInfo, main: Groupable): boolean {
  if (main.latest.repository !== variant.latest.repository) return false;
  return info.of === undefined || info.of === main.name;
}

/**
 * The catalog's entries, in the order of `images` (each family at its main image's place): every
 * main image with the variants of its repository, sorted by variant name. A variant whose main
 * image is not published stands alone.
 */
export function groupFamilies<T extends Groupable>(images: readonly T[]): ImageFamily<T>[] {
  const families = new Map<string, ImageFamily<T>>();
  const byRepository = new Map<string, T[]>();
  for (const image of images) {
    if (variantOfRecord(image.latest)) continue;
    families.set(image.name, { main: image, variants: [] });
    const repository = image.latest.repository;
    byRepository.set(repository, [...(byRepository.get(repository) ?? []), image]);
  }
  const alone = new Set<string>();
  for (const image of images) {
    const info = variantOfRecord(image.latest);
    if (!info) continue;
    const candidates = byRepository.get(image.latest.repository) ?? [];
    const main = candidates.find((m) => belongsTo(image, info, m));
    const family = main && families.get(main.name);
    if (family) family.variants.push(image);
    else alone.add(image.name);
  }
  for (const family of families.values())
    family.variants.sort((a, b) => a.name.localeCompare(b.name));
  return images.flatMap((i) => {
    const family = families.get(i.name);
    if (family) return [family];
    return alone.has(i.name) ? [{ main: i, variants: [] }] : [];
  });
}

/** The family `name` belongs to (as its main image or as a variant); undefined when not listed. */
export function familyOf<T extends Groupable>(
  images: readonly T[],
  name: string,
): ImageFamily<T> | undefined {
  return groupFamilies(images).find(
    (f) => f.main.name === name || f.variants.some((v) => v.name === name),
  );
}
