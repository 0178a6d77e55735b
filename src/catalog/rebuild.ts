import pLimit from 'p-limit';
import type { RedisClient } from '../queue/connection.ts';
import { z } from 'zod';
import type { Logger } from '../log.ts';
import { Limits } from '../oci/limits.ts';
import { annotationsOf, parseIndex, parseManifest } from '../oci/manifest-schema.ts';
import { Annotation, MediaType } from '../oci/media-types.ts';
import type { RegistryClient } from '../oci/registry-client.ts';
import { readPublishedState } from '../publish/published-state.ts';
import { attestationTag, predicateTypeAnnotation, signatureTag } from '../sign/cosign-objects.ts';
import { decodeBase64, inTotoPayloadType, parseEnvelope } from '../sign/dsse.ts';
import { coversDigest, parseStatement } from '../sign/in-toto.ts';
import { catalogPackage, sourceOfSpdxInfo, sourceVersionOfSpdxInfo } from './packages.ts';
import type { CatalogPackage, CatalogRecord } from './record.ts';
import { clearImage, recordPublished } from './store.ts';

/*
 * The registry is the source of truth; the catalog is a cache of it. This rebuilds an image's
 * catalog entries from what the registry holds: version tags and kiln's index annotations, the
 * per-arch manifests, the cosign signature and attestation tags, and the SBOM inside the SPDX
 * attestation, and the build tag among the repository's tags. Signatures are not verified here
 * (the catalog only displays; `kiln verify` checks). What the registry does not keep is
 * approximated: the publish time is the index's `created` annotation, and the build duration is
 * unknown (0).
 */

export interface RebuildImage {
  recipe: string;
  /** Repository relative to KILN_REGISTRY, as records keep it. */
  repository: string;
  /** The repository's path on the registry (namespace included). */
  path: string;
  /** A variant's tag suffix (`-dev`): which of the repository's images are this one's. */
  suffix?: string;
  description?: string;
  homepage?: string;
  license?: string;
}

const spdxPackages = z.object({
  packages: z
    .array(
      z.object({
        name: z.string(),
        versionInfo: z.string().optional(),
        licenseConcluded: z.string().optional(),
        licenseDeclared: z.string().optional(),
        sourceInfo: z.string().optional(),
        externalRefs: z
          .array(z.object({ referenceType: z.string(), referenceLocator: z.string() }))
          .optional(),
      }),
    )
    .optional(),
});

function packagesOf(predicate: unknown): CatalogPackage[] {
  const parsed = spdxPackages.safeParse(predicate);
  if (!parsed.success) return [];
  return (parsed.data.packages ?? []).flatMap((p) => {
    const purl = p.externalRefs?.find((r) => r.referenceType === 'purl')?.referenceLocator;
    if (!purl) return []; // the document's own root package, not something inside the image
    const license = [p.licenseConcluded, p.licenseDeclared].find(
      (l) => l && l !== 'NOASSERTION' && l !== 'NONE',
    );
    return [
      catalogPackage({
        name: p.name,
        version: p.versionInfo ?? '',
        purl,
        license,
        sourcePackage: sourceOfSpdxInfo(p.sourceInfo),
        sourceVersion: sourceVersionOfSpdxInfo(p.sourceInfo),
      }),
    ];
  });
}

async function attestationsOf(client: RegistryClient, path: string, digest: string) {
  const manifest = await client.getManifest(path, attestationTag(digest));
  if (!manifest) return { types: [], packages: [] };
  const types: string[] = [];
  let packages: CatalogPackage[] = [];
  for (const layer of parseManifest(manifest.bytes, `attestations of ${path}@${digest}`).layers) {
    if (layer.mediaType !== MediaType.dsseEnvelope) continue;
    const type = layer.annotations?.[predicateTypeAnnotation];
    if (type && !types.includes(type)) types.push(type);
    if (type !== 'https://spdx.dev/Document') continue;
    const envelope = await client
      .getBlob(path, layer.digest, {
        maxBytes: Limits.attestationBytes,
        expectedSize: layer.size,
      })
      .then((b) => b && parseEnvelope(b));
    const statement =
      envelope?.payloadType === inTotoPayloadType
        ? parseStatement(decodeBase64(envelope.payload))
        : undefined;
    if (statement && coversDigest(statement, digest)) packages = packagesOf(statement.predicate);
  }
  return { types, packages };
}

interface Published {
  version: string;
  epoch: number;
  inputsDigest: string;
  tags: string[];
  digest: string;
}

/**
 * The build tag (`X.Y.Z-rN-<yyyymmddhhmm>` + suffix) among the repository's tags that points at
 * this image: the oldest, as publish keeps the first one of an image. Built from the image's own
 * exact tag, so a version's tag text needs no second spelling here.
 */
async function buildTagOf(
  client: RegistryClient,
  image: RebuildImage,
  published: Published,
  repositoryTags: readonly string[],
): Promise<string | undefined> {
  const suffix = image.suffix ?? '';
  const exact = published.tags.find((t) => t.endsWith(`-r${published.epoch}${suffix}`));
  if (!exact) return undefined;
  const head = `${exact.slice(0, exact.length - suffix.length)}-`;
  const candidates = repositoryTags
    .filter(
      (t) =>
        t.startsWith(head) &&
        t.endsWith(suffix) &&
        /^\d{12}$/.test(t.slice(head.length, t.length - suffix.length)),
    )
    .sort();
  for (const tag of candidates)
    if ((await client.headManifest(image.path, tag))?.digest === published.digest) return tag;
  return undefined;
}

async function recordOf(
  client: RegistryClient,
  image: RebuildImage,
  published: Published,
  repositoryTags: readonly string[],
): Promise<CatalogRecord | undefined> {
  const index = await client.getManifest(image.path, published.digest);
  if (!index) return undefined;
  const annotations = annotationsOf(index.bytes);
  const archs = [];
  for (const m of parseIndex(index.bytes, `index ${image.path}@${published.digest}`).manifests) {
    if (!m.platform || m.platform.architecture === 'unknown') continue;
    const manifest = await client.getManifest(image.path, m.digest);
    if (!manifest) continue;
    const parsed = parseManifest(manifest.bytes, `manifest ${image.path}@${m.digest}`);
    const size = parsed.config.size + parsed.layers.reduce((sum, l) => sum + l.size, 0);
    archs.push({ arch: m.platform.architecture, digest: m.digest, size });
  }
  const signed =
    (await client.headManifest(image.path, signatureTag(published.digest))) !== undefined;
  const attestations = await attestationsOf(client, image.path, published.digest);
  const buildTag = await buildTagOf(client, image, published, repositoryTags);
  const created = annotations[Annotation.created] ?? new Date().toISOString();
  const releasedAt = annotations[Annotation.upstreamReleasedAt];
  return {
    recipe: image.recipe,
    repository: image.repository,
    version: published.version,
    epoch: published.epoch,
    digest: published.digest,
    tags: published.tags,
    ...(buildTag ? { buildTag } : {}),
    ...(image.suffix ? { variant: { name: image.suffix.replace(/^-/, '') } } : {}),
    archs,
    packages: attestations.packages,
    signed,
    attestations: attestations.types,
    inputsDigest: published.inputsDigest,
    upstream: {
      ...(releasedAt ? { releasedAt } : {}),
      ...(annotations[Annotation.source] ? { url: annotations[Annotation.source] } : {}),
    },
    publishedAt: created,
    builtAt: created,
    buildDurationMs: 0,
    ...(image.description ? { description: image.description } : {}),
    ...(image.homepage ? { homepage: image.homepage } : {}),
    ...(image.license ? { license: image.license } : {}),
  };
}

/** Replaces the catalog entries of `images` with what the registry holds; returns the records written. */
export async function rebuildCatalogFromRegistry(options: {
  redis: RedisClient;
  prefix: string;
  client: RegistryClient;
  images: readonly RebuildImage[];
  log?: Logger;
}): Promise<CatalogRecord[]> {
  const limit = pLimit(4);
  const perImage = await Promise.all(
    options.images.map((image) =>
      limit(async () => {
        const suffix = image.suffix ?? '';
        const state = await readPublishedState(options.client, image.path, { suffix });
        // readPublishedState leaves build tags out of an image's tags: they are read here.
        const repositoryTags = state.length > 0 ? await options.client.listTags(image.path) : [];
        const records = await Promise.all(
          state.map((p) => recordOf(options.client, image, p, repositoryTags)),
        );
        return { image, records: records.filter((r): r is CatalogRecord => r !== undefined) };
      }),
    ),
  );
  const written: CatalogRecord[] = [];
  for (const { image, records } of perImage) {
    await clearImage(options.redis, options.prefix, image.recipe);
    // Oldest first, so tag history reads in publish order.
    for (const r of records.sort((a, b) => Date.parse(a.publishedAt) - Date.parse(b.publishedAt))) {
      await recordPublished(options.redis, options.prefix, r);
      written.push(r);
    }
    options.log?.info(
      { recipe: image.recipe, records: records.length },
      'catalog rebuilt from the registry',
    );
  }
  return written;
}
