import type { KeyObject } from 'node:crypto';
import { z } from 'zod';
import { PermanentError } from '../errors.ts';
import { Limits } from '../oci/limits.ts';
import { parseIndex, parseManifest } from '../oci/manifest-schema.ts';
import { MediaType } from '../oci/media-types.ts';
import type { ImageReference } from '../oci/reference.ts';
import type { RegistryClient } from '../oci/registry-client.ts';
import { attestationTag } from '../sign/cosign-objects.ts';
import { inTotoPayloadType, parseEnvelope, verifyEnvelope, decodeBase64 } from '../sign/dsse.ts';
import { coversDigest, parseStatement, PredicateType } from '../sign/in-toto.ts';
import type { ImagePackages } from './image-layout.ts';
import { releaseOfVersions } from './image-layout.ts';
import { sourceOf, type InstalledPackage } from './installed.ts';

/*
 * A published image's packages from its SPDX attestation (kiln's `.att`, cosign's tag scheme):
 * the SBOM lists each Debian package with its purl and `sourceInfo: built from source package X`.
 * With a public key the envelope must verify; without one it is read as the registry serves it
 * (the scan says so), which is what scanners reading SBOM attestations do.
 */

const spdxSchema = z.object({
  packages: z.array(
    z.object({
      name: z.string(),
      versionInfo: z.string().optional(),
      sourceInfo: z.string().optional(),
      externalRefs: z
        .array(z.object({ referenceType: z.string(), referenceLocator: z.string() }))
        .optional(),
    }),
  ),
});

/** `pkg:deb/debian/libssl3t64@3.5.4-1~deb13u1?arch=amd64` → name, version, arch. */
export function parseDebPurl(
  purl: string,
): { name: string; version: string; arch?: string } | undefined {
  const m = /^pkg:deb\/debian\/([^@?#]+)@([^?#]+)(?:\?([^#]*))?/.exec(purl);
  if (!m?.[1] || !m[2]) return undefined;
  const arch = new URLSearchParams(m[3] ?? '').get('arch') ?? undefined;
  return { name: decodeURIComponent(m[1]), version: decodeURIComponent(m[2]), arch };
}

/** The Debian packages an SPDX 2.3 document lists (others, the image's root, are skipped). */
export function packagesOfSpdx(predicate: unknown): InstalledPackage[] {
  const doc = spdxSchema.safeParse(predicate);
  if (!doc.success) throw new PermanentError('the SPDX attestation has no package list');
  const out: InstalledPackage[] = [];
  for (const p of doc.data.packages) {
    const purl = p.externalRefs?.find((r) => r.referenceType === 'purl')?.referenceLocator;
    const deb = purl ? parseDebPurl(purl) : undefined;
    if (!deb) continue;
    const source = /^built from source package (\S+)/.exec(p.sourceInfo ?? '')?.[1];
    out.push({ ...deb, arch: deb.arch, ...sourceOf(deb.name, deb.version, source) });
  }
  return out;
}

/** Reads a registry image's packages from its SPDX attestation. */
export async function packagesOfRegistryImage(
  client: RegistryClient,
  ref: ImageReference,
  publicKey: KeyObject | undefined,
): Promise<ImagePackages & { attestationVerified: boolean }> {
  const name = `${ref.host}/${ref.repository}`;
  const target = ref.digest ?? ref.tag ?? 'latest';
  const head = await client.getManifest(ref.repository, target);
  if (!head) throw new PermanentError(`${name}:${target} does not exist`);
  const tag = attestationTag(head.digest);
  const att = await client.getManifest(ref.repository, tag);
  if (!att)
    throw new PermanentError(
      `${name}@${head.digest} has no attestations (${tag}); scan its OCI layout instead (skopeo copy docker://… oci:DIR)`,
    );
  for (const layer of parseManifest(att.bytes, `attestation manifest ${tag}`).layers) {
    if (layer.mediaType !== MediaType.dsseEnvelope) continue;
    if (layer.annotations?.predicateType && layer.annotations.predicateType !== PredicateType.spdx)
      continue;
    const bytes = await client.getBlob(ref.repository, layer.digest, {
      maxBytes: Limits.attestationBytes,
      expectedSize: layer.size,
    });
    const envelope = bytes && parseEnvelope(bytes);
    if (!envelope || envelope.payloadType !== inTotoPayloadType) continue;
    const body = publicKey ? verifyEnvelope(envelope, publicKey) : decodeBase64(envelope.payload);
    if (!body)
      throw new PermanentError(
        `${name}@${head.digest}: the SBOM attestation does not verify with the given key`,
      );
    const statement = parseStatement(body);
    if (statement?.predicateType !== PredicateType.spdx || !coversDigest(statement, head.digest))
      continue;
    const packages = packagesOfSpdx(statement.predicate);
    return {
      image: `${name}@${head.digest}`,
      digest: head.digest,
      size: await imageSize(client, ref.repository, head.bytes, head.mediaType),
      packages,
      from: 'spdx',
      release: releaseOfVersions(packages),
      attestationVerified: publicKey !== undefined,
    };
  }
  throw new PermanentError(`${name}@${head.digest}: no SPDX SBOM attestation covers this image`);
}

/** Layer bytes of the first manifest (an index's first platform). */
async function imageSize(
  client: RegistryClient,
  repository: string,
  bytes: Buffer,
  mediaType: string,
): Promise<number> {
  if (mediaType === MediaType.imageIndex || mediaType === MediaType.dockerManifestList) {
    const first = parseIndex(bytes, 'image index').manifests[0];
    const inner = first && (await client.getManifest(repository, first.digest));
    return inner ? imageSize(client, repository, inner.bytes, inner.mediaType) : 0;
  }
  return parseManifest(bytes, 'image manifest').layers.reduce((n, l) => n + l.size, 0);
}
