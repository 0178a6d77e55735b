import { PermanentError } from '../errors.ts';
import type { Logger } from '../log.ts';
import { annotationsOf } from '../oci/manifest-schema.ts';
import { Annotation, MediaType } from '../oci/media-types.ts';
import type { RegistryClient } from '../oci/registry-client.ts';
import type { BuildRequest } from '../model/build-request.ts';
import type { BuildResult } from '../model/build-result.ts';
import type { PublishResult } from '../model/publish-result.ts';
import { attestationTag, signatureTag } from '../sign/cosign-objects.ts';
import type { Signer } from '../sign/signer.ts';
import { ensureInstanceSignatures, instancesSigned } from './arch-signatures.ts';
import { ensureAttestations } from './attestations.ts';
import { moveFloatingTags } from './floating-tags.ts';
import { ensureBundleReferrers } from './referrers.ts';
import { ensureSignature } from './signature.ts';
import { assembleIndex } from './image-index.ts';
import { attestationStatements, attestationTypes } from './statements.ts';

/** The steps of a publish, in order; {@link PublishOptions.onStep} fires after each one. */
export const publishSteps = [
  'index',
  'signature',
  'arch-signatures',
  'attestations',
  'referrers',
  'version-tag',
  'floating-tags',
] as const;
export type PublishStep = (typeof publishSteps)[number];

export interface PublishOptions {
  client: RegistryClient;
  /** Repository path on the client's registry, e.g. `kiln/python`. */
  repository: string;
  request: BuildRequest;
  /** One per arch, their manifests already pushed by digest ({@link pushArchImage}). */
  archResults: BuildResult[];
  /** Signs the index and the attestations; undefined publishes unsigned, only with `allowUnsigned`. */
  signer: Signer | undefined;
  /** KILN_ALLOW_UNSIGNED: publish and tag without a signature. */
  allowUnsigned?: boolean;
  now?: Date;
  /**
   * The image's `created` time. Defaults to the upstream release time, else the request time:
   * never the wall clock, so publishing the same build twice gives the same index digest.
   */
  created?: string;
  /** URI of this kiln installation for the provenance's builder id. */
  builderId?: string;
  log?: Logger;
  /** Called after each step; tests use it to stop a publish half-way, as a crash would. */
  onStep?: (step: PublishStep, digest: string) => void | Promise<void>;
}

/**
 * Publishes one image: index by digest → signature → a signature of each arch manifest (as
 * `cosign sign --recursive`) → attestations (SPDX, SLSA provenance,
 * CycloneDX in `.att`, and as Sigstore bundle referrers) → the exact version tag → floating tags.
 * Every step checks the registry first, so running it again after a crash at any point finishes
 * the job with no duplicate signature or attestation, and no tag ever points at an unsigned image.
 */
export async function publishImage(options: PublishOptions): Promise<PublishResult> {
  const { client, repository, request, archResults, signer, log } = options;
  const what = `publishing ${request.recipe} ${request.version}-r${request.epoch} to ${client.host}/${repository}`;
  if (!signer && !options.allowUnsigned) {
    throw new PermanentError(
      `${what}: no signing key (set KILN_SIGNING_KEY, or KILN_ALLOW_UNSIGNED=true to publish unsigned)`,
    );
  }
  if (archResults.length === 0) throw new PermanentError(`${what}: no arch images to publish`);
  const [exactTag, ...floating] = request.tags;
  if (!exactTag) throw new PermanentError(`${what}: the request has no tags`);
  const now = options.now ?? new Date();
  const created = options.created ?? request.upstream.releasedAt ?? request.requestedAt;
  const step = async (name: PublishStep, digest: string) => options.onStep?.(name, digest);
  let changed = false;

  // An exact tag already set means a previous run got past signing: reuse its index as is.
  let index = assembleIndex(request, archResults, created);
  const taggedHead = await client.headManifest(repository, exactTag);
  if (
    taggedHead?.digest === index.descriptor.digest &&
    (await alreadyComplete(client, repository, taggedHead.digest, index.bytes, signer))
  ) {
    // The unchanged-image path: only HEAD requests, nothing signed again.
    const moves = await moveFloatingTags(
      client,
      repository,
      floating,
      {
        digest: taggedHead.digest,
        bytes: index.bytes,
        version: { version: request.version, epoch: request.epoch },
      },
      request.versionScheme ?? 'loose',
      log,
    );
    await step('floating-tags', taggedHead.digest);
    return {
      recipe: request.recipe,
      version: request.version,
      repository,
      digest: taggedHead.digest,
      tags: [exactTag, ...moves.filter((m) => m.outcome !== 'held').map((m) => m.tag)],
      signed: signer !== undefined,
      attestations: signer ? attestationTypes : [],
      changed: moves.some((m) => m.outcome === 'moved'),
      publishedAt: now.toISOString(),
    };
  }
  const tagged = taggedHead ? await client.getManifest(repository, exactTag) : undefined;
  if (tagged && tagged.digest !== index.descriptor.digest) {
    const theirs = annotationsOf(tagged.bytes)[Annotation.inputsDigest];
    if (theirs !== request.inputsDigest) {
      throw new PermanentError(
        `${what}: tag ${exactTag} already points at ${tagged.digest}, built from other inputs (${theirs ?? 'unknown'})`,
      );
    }
    log?.info(
      { repository, tag: exactTag, digest: tagged.digest },
      'exact tag already published from the same inputs; reusing it',
    );
    index = {
      bytes: tagged.bytes,
      descriptor: {
        mediaType: MediaType.imageIndex,
        digest: tagged.digest,
        size: tagged.bytes.length,
      },
    };
  }
  const digest = index.descriptor.digest;

  if (!(await client.headManifest(repository, digest))) {
    await client.putManifest(repository, digest, index.bytes, MediaType.imageIndex);
    changed = true;
  }
  await step('index', digest);

  const attestations: string[] = [];
  if (signer) {
    const signed = await ensureSignature(client, repository, digest, signer);
    changed ||= signed === 'signed';
    await step('signature', digest);

    const archSigned = await ensureInstanceSignatures(client, repository, index.bytes, signer);
    changed ||= archSigned > 0;
    await step('arch-signatures', digest);

    const subjectName = `${client.host}/${repository}`;
    const statements = attestationStatements(options, subjectName, digest, created);
    const attested = await ensureAttestations(client, repository, digest, statements, signer);
    changed ||= attested.some((a) => a.created);
    attestations.push(...attested.map((a) => a.predicateType));
    await step('attestations', digest);

    const added = await ensureBundleReferrers(
      client,
      repository,
      index.descriptor,
      attested,
      signer,
      created,
    );
    changed ||= added > 0;
    await step('referrers', digest);
  } else {
    log?.warn({ repository, digest }, 'publishing without a signature (KILN_ALLOW_UNSIGNED)');
  }

  if (tagged?.digest !== digest) {
    await client.putManifest(repository, exactTag, index.bytes, MediaType.imageIndex);
    changed = true;
  }
  await step('version-tag', digest);

  const moves = await moveFloatingTags(
    client,
    repository,
    floating,
    { digest, bytes: index.bytes, version: { version: request.version, epoch: request.epoch } },
    request.versionScheme ?? 'loose',
    log,
  );
  changed ||= moves.some((m) => m.outcome === 'moved');
  await step('floating-tags', digest);

  const tags = [exactTag, ...moves.filter((m) => m.outcome !== 'held').map((m) => m.tag)];
  log?.info(
    {
      recipe: request.recipe,
      version: request.version,
      epoch: request.epoch,
      digest,
      tags,
      changed,
    },
    'published',
  );
  return {
    recipe: request.recipe,
    version: request.version,
    repository,
    digest,
    tags,
    signed: signer !== undefined,
    attestations,
    changed,
    publishedAt: now.toISOString(),
  };
}

/**
 * Whether an image the exact tag already points at needs nothing more: the tag is only set after
 * signing and attesting, so the `.sig`/`.att` tags of the index and a `.sig` per arch manifest
 * existing (HEADs only) is enough. A publish that was unsigned before and has a key now, or one
 * from before arch manifests were signed, goes the full way, which keeps what is already there.
 */
async function alreadyComplete(
  client: RegistryClient,
  repository: string,
  digest: string,
  indexBytes: Uint8Array,
  signer: Signer | undefined,
): Promise<boolean> {
  if (!signer) return true;
  const [sig, att, instances] = await Promise.all([
    client.headManifest(repository, signatureTag(digest)),
    client.headManifest(repository, attestationTag(digest)),
    instancesSigned(client, repository, indexBytes),
  ]);
  return sig !== undefined && att !== undefined && instances;
}
