import { PermanentError } from '../errors.ts';
import type { Logger } from '../log.ts';
import { annotationsOf } from '../oci/manifest-schema.ts';
import { Annotation, MediaType, type Descriptor } from '../oci/media-types.ts';
import type { RegistryClient } from '../oci/registry-client.ts';
import type { BuildRequest } from '../model/build-request.ts';
import type { PublishResult } from '../model/publish-result.ts';
import { buildTag, isBuildTagOf, tagText } from '../plan/tags.ts';
import { attestationTag, signatureTag } from '../sign/cosign-objects.ts';
import type { Signer } from '../sign/signer.ts';
import { ensureInstanceSignatures, instancesSigned } from './arch-signatures.ts';
import { ensureAttestations } from './attestations.ts';
import { moveFloatingTags, type TagMove } from './floating-tags.ts';
import { ensureBundleReferrers } from './referrers.ts';
import { ensureSignature } from './signature.ts';
import { assembleIndex } from './image-index.ts';
import { attestationStatements, attestationTypes } from './statements.ts';

import type { PublishOptions, PublishStep } from './publish-options.ts';

export { publishSteps, type PublishOptions, type PublishStep } from './publish-options.ts';

/**
 * Publishes one image: index by digest → signature → a signature of each arch manifest (as
 * `cosign sign --recursive`) → attestations (SPDX, SLSA provenance,
 * CycloneDX in `.att`, and as Sigstore bundle referrers) → the build tag → the exact version
 * tag → floating tags.
 * Every step checks the registry first, so running it again after a crash at any point finishes
 * the job with no duplicate signature or attestation, and no tag ever points at an unsigned image.
 */
export async function publishImage(options: PublishOptions): Promise<PublishResult> {
  const run = startPublish(options);
  const assembled = assembleIndex(run.request, options.archResults, run.created);
  const taggedHead = await run.client.headManifest(run.repository, run.exactTag);
  if (
    taggedHead?.digest === assembled.descriptor.digest &&
    (await alreadyComplete(run, taggedHead.digest, assembled.bytes))
  ) {
    return retagUnchanged(run, assembled);
  }
  const { index, taggedDigest } = await reuseTaggedIndex(run, assembled, taggedHead !== undefined);
  const digest = index.descriptor.digest;
  // The order is the contract: nothing is tagged before it is signed and attested.
  const pushed = await pushIndex(run, index);
  const signed = await signIndex(run, index);
  const attested = await attestIndex(run, index);
  const built = await setBuildTag(run, index);
  const tagMoved = await setExactTag(run, index, taggedDigest);
  const moves = await moveFloating(run, index);
  const changed = pushed || signed || attested.changed || tagMoved || built.set || anyMoved(moves);
  const result = publishResult(run, digest, moves, attested.predicateTypes, changed, built.tag);
  const { recipe, version, epoch } = run.request;
  run.log?.info({ recipe, version, epoch, digest, tags: result.tags, changed }, 'published');
  return result;
}

/** What every phase of one publish needs, checked once at the start. */
interface PublishRun {
  options: PublishOptions;
  client: RegistryClient;
  repository: string;
  request: BuildRequest;
  signer: Signer | undefined;
  log: Logger | undefined;
  /** `publishing <recipe> <version>-r<epoch> to <host>/<repository>`, the start of every error. */
  what: string;
  exactTag: string;
  floating: string[];
  now: Date;
  created: string;
  step: (name: PublishStep, digest: string) => Promise<void>;
}

interface IndexBytes {
  bytes: Buffer;
  descriptor: Descriptor;
}

/** Refuses what cannot be published (no key, no arch, no tag) before any request is made. */
function startPublish(options: PublishOptions): PublishRun {
  const { client, repository, request, signer, log } = options;
  const what = `publishing ${request.recipe} ${request.version}-r${request.epoch} to ${client.host}/${repository}`;
  if (!signer && !options.allowUnsigned) {
    throw new PermanentError(
      `${what}: no signing key (set KILN_SIGNING_KEY, or KILN_ALLOW_UNSIGNED=true to publish unsigned)`,
    );
  }
  if (options.archResults.length === 0) {
    throw new PermanentError(`${what}: no arch images to publish`);
  }
  const [exactTag, ...floating] = request.tags;
  if (!exactTag) throw new PermanentError(`${what}: the request has no tags`);
  return {
    options,
    client,
    repository,
    request,
    signer,
    log,
    what,
    exactTag,
    floating,
    now: options.now ?? new Date(),
    created: options.created ?? request.upstream.releasedAt ?? request.requestedAt,
    step: async (name, digest) => options.onStep?.(name, digest),
  };
}

/** The unchanged-image path: only HEAD requests, nothing signed again; floating tags may move. */
async function retagUnchanged(run: PublishRun, index: IndexBytes): Promise<PublishResult> {
  // Its build tag was set before its exact tag: there is nothing to look up.
  const moves = await moveFloating(run, index);
  const attestations = run.signer ? attestationTypes : [];
  return publishResult(run, index.descriptor.digest, moves, attestations, anyMoved(moves));
}

/**
 * An exact tag already set to another digest means a previous run got past signing: its index is
 * reused as is if it was built from the same inputs, and refused if not.
 */
async function reuseTaggedIndex(
  run: PublishRun,
  assembled: IndexBytes,
  tagExists: boolean,
): Promise<{ index: IndexBytes; taggedDigest: string | undefined }> {
  const { client, repository, exactTag, request } = run;
  const tagged = tagExists ? await client.getManifest(repository, exactTag) : undefined;
  if (!tagged || tagged.digest === assembled.descriptor.digest) {
    return { index: assembled, taggedDigest: tagged?.digest };
  }
  const theirs = annotationsOf(tagged.bytes)[Annotation.inputsDigest];
  if (theirs !== request.inputsDigest) {
    throw new PermanentError(
      `${run.what}: tag ${exactTag} already points at ${tagged.digest}, built from other inputs (${theirs ?? 'unknown'})`,
    );
  }
  run.log?.info(
    { repository, tag: exactTag, digest: tagged.digest },
    'exact tag already published from the same inputs; reusing it',
  );
  const descriptor = {
    mediaType: MediaType.imageIndex,
    digest: tagged.digest,
    size: tagged.bytes.length,
  };
  return { index: { bytes: tagged.bytes, descriptor }, taggedDigest: tagged.digest };
}

/** The index by digest, untagged (its arch manifests were pushed by the build jobs). */
async function pushIndex(run: PublishRun, index: IndexBytes): Promise<boolean> {
  const { digest } = index.descriptor;
  let pushed = false;
  if (!(await run.client.headManifest(run.repository, digest))) {
    await run.client.putManifest(run.repository, digest, index.bytes, MediaType.imageIndex);
    pushed = true;
  }
  await run.step('index', digest);
  return pushed;
}

/** The index's `.sig`, then one per arch manifest; nothing without a signer. */
async function signIndex(run: PublishRun, index: IndexBytes): Promise<boolean> {
  const { client, repository, signer } = run;
  const { digest } = index.descriptor;
  if (!signer) {
    run.log?.warn({ repository, digest }, 'publishing without a signature (KILN_ALLOW_UNSIGNED)');
    return false;
  }
  const signed = await ensureSignature(client, repository, digest, signer);
  await run.step('signature', digest);
  const archSigned = await ensureInstanceSignatures(client, repository, index.bytes, signer);
  await run.step('arch-signatures', digest);
  return signed === 'signed' || archSigned > 0;
}

/** The `.att` envelopes, then the same statements as Sigstore bundle referrers. */
async function attestIndex(
  run: PublishRun,
  index: IndexBytes,
): Promise<{ changed: boolean; predicateTypes: string[] }> {
  const { client, repository, signer, created } = run;
  const { digest } = index.descriptor;
  if (!signer) return { changed: false, predicateTypes: [] };
  const subjectName = `${client.host}/${repository}`;
  const statements = attestationStatements(run.options, subjectName, digest, created);
  const attested = await ensureAttestations(client, repository, digest, statements, signer);
  await run.step('attestations', digest);
  const subject = index.descriptor;
  const added = await ensureBundleReferrers(client, repository, subject, attested, signer, created);
  await run.step('referrers', digest);
  return {
    changed: attested.some((a) => a.created) || added > 0,
    predicateTypes: attested.map((a) => a.predicateType),
  };
}

/** The exact version tag, only once the index is signed and attested. */
async function setExactTag(
  run: PublishRun,
  index: IndexBytes,
  taggedDigest: string | undefined,
): Promise<boolean> {
  const { digest } = index.descriptor;
  let moved = false;
  if (taggedDigest !== digest) {
    await run.client.putManifest(run.repository, run.exactTag, index.bytes, MediaType.imageIndex);
    moved = true;
  }
  await run.step('version-tag', digest);
  return moved;
}

/**
 * The immutable build tag `X.Y.Z-rN-<yyyymmddhhmm>` (UTC, this publish; a variant's suffix
 * after it), set once the image is signed and attested, just before the exact tag (so an image
 * whose exact tag is set has one, and an unchanged re-publish looks nothing up). An image keeps
 * the build tag it already has (a re-run after a crash); a build tag that names another digest is
 * an error, never an overwrite.
 */
async function setBuildTag(
  run: PublishRun,
  index: IndexBytes,
): Promise<{ tag: string; set: boolean }> {
  const { client, repository, request, exactTag } = run;
  const { digest } = index.descriptor;
  const base = `${tagText(request.version)}-r${request.epoch}`;
  if (!exactTag.startsWith(base))
    throw new PermanentError(`${run.what}: exact tag ${exactTag} does not start with ${base}`);
  const suffix = exactTag.slice(base.length);
  const earlier = (await client.listTags(repository))
    .filter((t) => isBuildTagOf(t, request.version, request.epoch, suffix))
    .sort();
  for (const tag of earlier) {
    if ((await client.headManifest(repository, tag))?.digest === digest) {
      await run.step('build-tag', digest);
      return { tag, set: false };
    }
  }
  const tag = buildTag(request.version, request.epoch, run.now, suffix);
  const head = await client.headManifest(repository, tag);
  if (head && head.digest !== digest)
    throw new PermanentError(
      `${run.what}: build tag ${tag} already points at ${head.digest}; build tags never move`,
    );
  if (!head) await client.putManifest(repository, tag, index.bytes, MediaType.imageIndex);
  await run.step('build-tag', digest);
  return { tag, set: !head };
}

/** The floating tags, last, each only forward in version order. */
async function moveFloating(run: PublishRun, index: IndexBytes): Promise<TagMove[]> {
  const { request } = run;
  const { digest } = index.descriptor;
  const moves = await moveFloatingTags(
    run.client,
    run.repository,
    run.floating,
    { digest, bytes: index.bytes, version: { version: request.version, epoch: request.epoch } },
    request.versionScheme ?? 'loose',
    run.log,
  );
  await run.step('floating-tags', digest);
  return moves;
}

function anyMoved(moves: TagMove[]): boolean {
  return moves.some((m) => m.outcome === 'moved');
}

function publishResult(
  run: PublishRun,
  digest: string,
  moves: TagMove[],
  attestations: string[],
  changed: boolean,
  buildTagSet?: string,
): PublishResult {
  const kept = moves.filter((m) => m.outcome !== 'held').map((m) => m.tag);
  return {
    recipe: run.request.recipe,
    version: run.request.version,
    repository: run.repository,
    digest,
    tags: [run.exactTag, ...kept],
    ...(buildTagSet ? { buildTag: buildTagSet } : {}),
    signed: run.signer !== undefined,
    attestations,
    changed,
    publishedAt: run.now.toISOString(),
  };
}

/**
 * Whether an image the exact tag already points at needs nothing more: the tag is only set after
 * signing and attesting, so the `.sig`/`.att` tags of the index and a `.sig` per arch manifest
 * existing (HEADs only) is enough. A publish that was unsigned before and has a key now, or one
 * from before arch manifests were signed, goes the full way, which keeps what is already there.
 */
async function alreadyComplete(
  run: PublishRun,
  digest: string,
  indexBytes: Uint8Array,
): Promise<boolean> {
  const { client, repository, signer } = run;
  if (!signer) return true;
  const [sig, att, instances] = await Promise.all([
    client.headManifest(repository, signatureTag(digest)),
    client.headManifest(repository, attestationTag(digest)),
    instancesSigned(client, repository, indexBytes),
  ]);
  return sig !== undefined && att !== undefined && instances;
}
