import type { KeyObject } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
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
import {
  packagesOfFiles,
  releaseOfFiles,
  releaseOfVersions,
  wantedFile,
  type ImagePackages,
} from './image-layout.ts';
import { sourceOf, type InstalledPackage } from './installed.ts';
import { applyLayer, type KeptFile } from './layer-files.ts';

/*
 * A published image's packages from its SPDX attestation (kiln's `.att`, cosign's tag scheme):
 * the SBOM lists each Debian package with its purl and `sourceInfo: built from source package X`.
 * With a public key the envelope must verify; without one it is read as the registry serves it
 * (the scan says so), which is what scanners reading SBOM attestations do. An image without an
 * SPDX attestation (one kiln did not build) is read from its layers' dpkg status instead, unless a
 * key was given (then the attestation is what was asked for).
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
    // `built from source package glibc (2.41-12)`, or without the version (older SBOMs).
    const source = /^built from source package (\S+(?: \([^)\s]+\))?)/.exec(
      p.sourceInfo ?? '',
    )?.[1];
    out.push({ ...deb, arch: deb.arch, ...sourceOf(deb.name, deb.version, source) });
  }
  return out;
}

/** Reads a registry image's packages from its SPDX attestation, else from its layers. */
export async function packagesOfRegistryImage(
  client: RegistryClient,
  ref: ImageReference,
  publicKey: KeyObject | undefined,
  arch?: string,
): Promise<ImagePackages & { attestationVerified: boolean }> {
  const name = `${ref.host}/${ref.repository}`;
  const target = ref.digest ?? ref.tag ?? 'latest';
  const head = await client.getManifest(ref.repository, target);
  if (!head) throw new PermanentError(`${name}:${target} does not exist`);
  const fromSbom = await spdxPackages(client, ref, head.digest, publicKey);
  if (fromSbom) {
    return {
      image: `${name}@${head.digest}`,
      digest: head.digest,
      size: await imageSize(client, ref.repository, head.bytes, head.mediaType),
      packages: fromSbom,
      from: 'spdx',
      release: releaseOfVersions(fromSbom),
      attestationVerified: publicKey !== undefined,
    };
  }
  if (publicKey)
    throw new PermanentError(
      `${name}@${head.digest}: no SPDX SBOM attestation (${attestationTag(head.digest)}) to verify with the given key`,
    );
  return { ...(await layerPackages(client, ref, head, arch)), attestationVerified: false };
}

/** The packages of the SPDX attestation covering `digest`; undefined when there is none. */
async function spdxPackages(
  client: RegistryClient,
  ref: ImageReference,
  digest: string,
  publicKey: KeyObject | undefined,
): Promise<InstalledPackage[] | undefined> {
  const tag = attestationTag(digest);
  const att = await client.getManifest(ref.repository, tag);
  if (!att) return undefined;
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
        `${ref.host}/${ref.repository}@${digest}: the SBOM attestation does not verify with the given key`,
      );
    const statement = parseStatement(body);
    if (statement?.predicateType !== PredicateType.spdx || !coversDigest(statement, digest))
      continue;
    return packagesOfSpdx(statement.predicate);
  }
  return undefined;
}

/**
 * The packages dpkg recorded in the image's layers: each layer downloaded (digest checked, size
 * bounded by its descriptor) to a temporary file, applied, and removed before the next.
 */
async function layerPackages(
  client: RegistryClient,
  ref: ImageReference,
  head: { bytes: Buffer; mediaType: string; digest: string },
  arch: string | undefined,
): Promise<ImagePackages> {
  let manifestBytes = head.bytes;
  let digest = head.digest;
  if (head.mediaType === MediaType.imageIndex || head.mediaType === MediaType.dockerManifestList) {
    const index = parseIndex(head.bytes, `index ${head.digest}`);
    const pick =
      index.manifests.find((m) => arch && m.platform?.architecture === arch) ??
      index.manifests.find((m) => !m.platform || m.platform.os === 'linux');
    const inner = pick && (await client.getManifest(ref.repository, pick.digest));
    if (!inner)
      throw new PermanentError(
        `${ref.host}/${ref.repository}@${head.digest}: no image for ${arch ?? 'linux'}`,
      );
    manifestBytes = inner.bytes;
    digest = inner.digest;
  }
  const manifest = parseManifest(manifestBytes, `manifest ${digest}`);
  const work = await mkdtemp(path.join(os.tmpdir(), 'kiln-scan-'));
  const files = new Map<string, KeptFile>();
  try {
    for (const [i, layer] of manifest.layers.entries()) {
      const file = path.join(work, `layer-${i}`);
      if (
        !(await client.downloadBlob(ref.repository, layer.digest, file, {
          expectedSize: layer.size,
        }))
      )
        throw new PermanentError(`${ref.host}/${ref.repository}: layer ${layer.digest} is missing`);
      await applyLayer(
        { digest: layer.digest, mediaType: layer.mediaType, open: () => createReadStream(file) },
        files,
        wantedFile,
      );
      await rm(file, { force: true });
    }
  } finally {
    await rm(work, { recursive: true, force: true });
  }
  const packages = packagesOfFiles(files);
  return {
    image: `${ref.host}/${ref.repository}@${head.digest}`,
    digest,
    size: manifest.layers.reduce((n, l) => n + l.size, 0),
    packages,
    from: 'dpkg-status',
    release: releaseOfFiles(files, packages),
  };
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
