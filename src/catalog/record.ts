import { z } from 'zod';
import { PermanentError } from '../errors.ts';

/*
 * What the catalog keeps about one published image (one recipe at one version and epoch).
 * The publish job writes it; the API, the catalog page, /metrics and `kiln status` read it.
 * Records are parsed with these schemas when they come back from Redis: Redis is an outside
 * store, and a record written by an older kiln must fail loudly, not half-render.
 */

const isoTime = z.iso.datetime({ offset: true });
const digest = z.string().regex(/^sha256:[a-f0-9]{64}$/, 'expected sha256:<64 hex>');

export const catalogArchSchema = z.object({
  /** Debian arch name, e.g. `amd64`. */
  arch: z.string().min(1),
  /** `sha256:…` of the arch's manifest. */
  digest,
  /** Compressed size of config and layers, in bytes. */
  size: z.number().int().nonnegative(),
});

export const catalogPackageSchema = z.object({
  name: z.string(),
  version: z.string(),
  /** Package URL, e.g. `pkg:deb/debian/libc6@2.36-9?arch=amd64`. */
  purl: z.string(),
  license: z.string().optional(),
  /** The Debian source package it was built from (the SBOM's `sourceInfo`), for CVE matching. */
  source: z.string().optional(),
  /** The source version: the binary version less a binNMU `+bN`, as src/vuln derives it. */
  sourceVersion: z.string().optional(),
});

/** What one changed package of a nano update fixed, from its new .deb's changelog (src/vuln/nano-fixes.ts). */
export const packageFixSchema = z.object({
  package: z.string(),
  from: z.string(),
  to: z.string(),
  cves: z.array(z.string()),
  /** False when the .deb holds no changelog: the CVEs are unknown, not none. */
  changelogFound: z.boolean(),
});
export type PackageFix = z.infer<typeof packageFixSchema>;

export const catalogRecordSchema = z.object({
  /** Recipe name: the image's name in the catalog. */
  recipe: z.string().min(1),
  /** Repository relative to KILN_REGISTRY. */
  repository: z.string().min(1),
  /** Normalised upstream version, e.g. `3.12.7`. */
  version: z.string().min(1),
  /** Nano-update counter: the `N` of `-rN`. */
  epoch: z.number().int().nonnegative(),
  /** `sha256:…` of the image index. */
  digest,
  /** Tags set on this image when it was published, exact version tag first. */
  tags: z.array(z.string()),
  /**
   * The immutable build tag of this publish, `X.Y.Z-rN-<yyyymmddhhmm>` (a variant's suffix after
   * it): it never moves, so a consumer can pin it. Absent in records of a kiln before build tags.
   */
  buildTag: z
    .string()
    .regex(/-r\d+-\d{12}(-[a-z][a-z0-9]*)?$/, 'expected X.Y.Z-rN-<yyyymmddhhmm>[-<variant>]')
    .optional(),
  /**
   * A recipe's variant (`static-dev`): its name (the tag suffix without `-`) and the recipe it is
   * a variant of, when known. Absent for a main image; older records are recognised by their
   * exact tag's suffix (variants.ts).
   */
  variant: z
    .object({ name: z.string().regex(/^[a-z][a-z0-9]*$/), of: z.string().min(1).optional() })
    .optional(),
  archs: z.array(catalogArchSchema),
  /** What the SBOM lists. */
  packages: z.array(catalogPackageSchema),
  signed: z.boolean(),
  /** Predicate types attached, e.g. `https://spdx.dev/Document`. */
  attestations: z.array(z.string()),
  /** `sha256:…` of everything that decided the image's bytes. */
  inputsDigest: z.string(),
  upstream: z.object({
    /** When upstream released this version (or Debian published the package), if known. */
    releasedAt: isoTime.optional(),
    /**
     * Where releasedAt came from when the upstream did not state it: `archive`, the Date of the
     * first Debian InRelease kiln saw listing the version; `first-seen`, the release time is
     * unknown and releasedAt is when kiln first saw the version (freshness is then a lower bound).
     */
    releasedAtSource: z.enum(['archive', 'first-seen']).optional(),
    url: z.string().optional(),
  }),
  /** When the signed image's version tag was set: the end of the freshness interval. */
  publishedAt: isoTime,
  builtAt: isoTime,
  buildDurationMs: z.number().nonnegative(),
  /** A nano update's changed packages and the CVEs their changelogs name (none at -r0). */
  fixes: z.array(packageFixSchema).optional(),
  /** From the recipe: shown on the catalog page, always escaped there. */
  description: z.string().optional(),
  homepage: z.string().optional(),
  license: z.string().optional(),
});

/** One published image, as the publish job records it. */
export type CatalogRecord = z.infer<typeof catalogRecordSchema>;
export type CatalogArch = z.infer<typeof catalogArchSchema>;
export type CatalogPackage = z.infer<typeof catalogPackageSchema>;

/** One tag move: `tag` was set to `digest` (the image of `version`-r`epoch`) at `at`. */
export const tagEventSchema = z.object({
  tag: z.string(),
  digest,
  version: z.string(),
  epoch: z.number().int().nonnegative(),
  at: isoTime,
});
export type TagEvent = z.infer<typeof tagEventSchema>;

/** An upstream release the watcher has seen, published by kiln or not (yet). */
export const upstreamSeenSchema = z.object({
  version: z.string(),
  releasedAt: isoTime,
});
export type UpstreamSeen = z.infer<typeof upstreamSeenSchema>;

/** `3.12.7-r1`: the version tag of a record. */
export function versionTag(record: Pick<CatalogRecord, 'version' | 'epoch'>): string {
  return `${record.version}-r${record.epoch}`;
}

/** Parses a value the catalog stored in Redis; a bad one is a permanent error naming `what`. */
export function parseStored<T>(schema: z.ZodType<T>, json: string, what: string): T {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch (cause) {
    throw new PermanentError(`reading ${what}: stored value is not JSON`, { cause });
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success)
    throw new PermanentError(`reading ${what}: ${z.prettifyError(parsed.error)}`);
  return parsed.data;
}
