import type { KeyObject } from 'node:crypto';
import { assertBundle, bundleFromJSON } from '@sigstore/bundle';
import { PermanentError } from '../errors.ts';
import { Limits } from '../oci/limits.ts';
import { parseIndex, parseManifest } from '../oci/manifest-schema.ts';
import { MediaType } from '../oci/media-types.ts';
import { parseReference, type ImageReference } from '../oci/reference.ts';
import type { RegistryClient } from '../oci/registry-client.ts';
import {
  attestationTag,
  referrersTag,
  signatureAnnotation,
  signatureTag,
} from './cosign-objects.ts';
import { inTotoPayloadType, parseEnvelope, verifyEnvelope, type DsseEnvelope } from './dsse.ts';
import { coversDigest, parseStatement, PredicateType, type ParsedStatement } from './in-toto.ts';
import { parseSimpleSigning, simpleSigningType } from './simple-signing.ts';
import { publicKeyHint } from './keys.ts';
import { verifySignature } from './signer.ts';

/** A check `kiln verify` could not pass; the message is the reason a person reads. */
export class VerificationError extends PermanentError {}

export interface VerifyReport {
  reference: string;
  digest: string;
  /** Signature layers that verified with the key. */
  signatures: number;
  /**
   * The arch manifests of an index, each with a signature by the key (what containers/image
   * checks when it pulls one); empty for a single-manifest image.
   */
  instances: { digest: string; platform: string | undefined }[];
  attestations: { predicateType: string; layer: string }[];
  sbom: { format: 'SPDX'; version: string; packages: number };
  cyclonedx?: { components: number };
  provenance: {
    upstreamVersion: string | undefined;
    buildType: string | undefined;
    builderId: string | undefined;
  };
  /** Sigstore bundle referrers that verified (0 when the image has none). */
  bundles: number;
  /**
   * What was left out, as cosign does with other signers' signatures: signatures, attestations
   * and bundles not signed by the key, and signatures of the key that are not for this image.
   */
  ignored: IgnoredSignature[];
}

export interface IgnoredSignature {
  /** A `.sig` layer, a `.att` envelope or a Sigstore bundle referrer. */
  kind: 'signature' | 'attestation' | 'bundle';
  /** The layer's digest (the bundle manifest's, for a bundle). */
  digest: string;
  /** The manifest it is attached to: the index, or one of its arch manifests. */
  manifest: string;
  predicateType?: string;
  reason: string;
  /**
   * Not signed by the given key: another signer's, or tampered (a signature alone cannot tell
   * the two apart, nor which of them come from the same other signer).
   */
  otherSigner: boolean;
}

export interface VerifyOptions {
  /**
   * Reject a signature whose payload's `critical.identity.docker-reference` names another
   * repository than the one verified (containers/image's `matchRepository`).
   */
  repositoryMatch?: boolean;
}

const notByKey =
  'signature does not verify with the given key (tampered, or signed by another key)';

/**
 * Verifies a published image with a public key, the way cosign does: resolves the reference to a
 * digest and requires one simple-signing signature of that digest by the key (naming this
 * repository, with `repositoryMatch`) — of an index and of each arch manifest it lists, which is
 * what containers/image checks — and an SPDX SBOM and a SLSA provenance among the `.att`
 * envelopes signed by the key over the DSSE PAE. Signatures, attestations and bundles by other
 * keys are ignored and reported in `ignored`; whatever the key did sign must have this image as
 * its subject. Throws {@link VerificationError} with the reason it fails.
 */
export async function verifyImage(
  client: RegistryClient,
  ref: ImageReference,
  publicKey: KeyObject,
  options: VerifyOptions = {},
): Promise<VerifyReport> {
  const { repository } = ref;
  const name = `${ref.host}/${repository}`;
  const target = ref.digest ?? ref.tag ?? 'latest';
  const head = await client.headManifest(repository, target);
  if (!head) throw new VerificationError(`${name}:${target} does not exist`);
  const digest = head.digest;
  if (ref.digest && digest !== ref.digest)
    throw new VerificationError(`${name}@${ref.digest}: registry answered with ${digest}`);

  const ignored: IgnoredSignature[] = [];
  const signatures = await checkSignatures(client, ref, digest, publicKey, options, ignored);
  const instances = isIndexMediaType(head.mediaType)
    ? await checkInstances(client, ref, digest, publicKey, options, ignored)
    : [];
  const { attestations, statements } = await checkAttestations(
    client,
    repository,
    digest,
    publicKey,
    ignored,
  );
  const bundles = await checkBundles(client, repository, digest, publicKey, ignored);

  const spdx = statements.get(PredicateType.spdx);
  if (!spdx)
    throw new VerificationError(
      `${name}@${digest}: no SPDX SBOM attestation (${PredicateType.spdx}) signed by the given key${ignoredOf(ignored, PredicateType.spdx)}`,
    );
  const provenance = statements.get(PredicateType.slsaProvenance);
  if (!provenance)
    throw new VerificationError(
      `${name}@${digest}: no SLSA provenance attestation (${PredicateType.slsaProvenance}) signed by the given key${ignoredOf(ignored, PredicateType.slsaProvenance)}`,
    );
  const cdx = statements.get(PredicateType.cyclonedx);
  return {
    reference: `${name}@${digest}`,
    digest,
    signatures,
    instances,
    attestations,
    sbom: spdxSummary(spdx),
    ...(cdx ? { cyclonedx: { components: arrayLength(field(cdx.predicate, 'components')) } } : {}),
    provenance: provenanceSummary(provenance),
    bundles,
    ignored,
  };
}

function isIndexMediaType(mediaType: string | undefined): boolean {
  return mediaType === MediaType.imageIndex || mediaType === MediaType.dockerManifestList;
}

/**
 * What `cosign sign --recursive` signs and containers/image checks: a signature by the key of
 * every manifest the index lists, for the instance a client of that platform pulls.
 */
async function checkInstances(
  client: RegistryClient,
  ref: ImageReference,
  digest: string,
  key: KeyObject,
  options: VerifyOptions,
  ignored: IgnoredSignature[],
): Promise<VerifyReport['instances']> {
  const index = await client.getManifest(ref.repository, digest);
  if (!index) throw new VerificationError(`${ref.host}/${ref.repository}@${digest} vanished`);
  const out: VerifyReport['instances'] = [];
  for (const m of parseIndex(index.bytes, `image index ${digest}`).manifests) {
    const platform = m.platform
      ? [m.platform.os, m.platform.architecture, m.platform.variant].filter(Boolean).join('/')
      : undefined;
    try {
      await checkSignatures(client, ref, m.digest, key, options, ignored);
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      throw new VerificationError(
        `arch manifest ${m.digest}${platform ? ` (${platform})` : ''} of ${digest}: ${reason} (containers/image checks the signature of the arch it pulls)`,
        { cause: error },
      );
    }
    out.push({ digest: m.digest, platform });
  }
  return out;
}

/** `; <reason>; …` of the ignored attestations of one predicate type, for the message that it is missing. */
function ignoredOf(ignored: IgnoredSignature[], predicateType: string): string {
  const reasons = ignored
    .filter((i) => i.kind === 'attestation' && i.predicateType === predicateType)
    .map((i) => i.reason);
  return reasons.length > 0 ? `; ${reasons.join('; ')}` : '';
}

/** Whether a signature's `docker-reference` (a repository, maybe with a tag) is `ref`'s repository. */
function namesRepository(dockerReference: string, ref: ImageReference): boolean {
  try {
    const named = parseReference(dockerReference);
    return named.host === ref.host && named.repository === ref.repository;
  } catch {
    return false;
  }
}

async function checkSignatures(
  client: RegistryClient,
  ref: ImageReference,
  digest: string,
  key: KeyObject,
  options: VerifyOptions,
  ignored: IgnoredSignature[],
): Promise<number> {
  const { repository } = ref;
  const tag = signatureTag(digest);
  const manifest = await client.getManifest(repository, tag);
  if (!manifest) throw new VerificationError(`${repository}@${digest} is not signed: no ${tag}`);
  const layers = parseManifest(manifest.bytes, `signature manifest ${tag}`).layers.filter(
    (l) => l.mediaType === MediaType.cosignSimpleSigning,
  );
  const reasons: string[] = [];
  const skip = (layer: string, reason: string, otherSigner = false) => {
    reasons.push(reason);
    ignored.push({ kind: 'signature', digest: layer, manifest: digest, reason, otherSigner });
  };
  let valid = 0;
  for (const layer of layers) {
    const sig = layer.annotations?.[signatureAnnotation];
    if (!sig) {
      skip(layer.digest, `layer ${layer.digest} has no ${signatureAnnotation} annotation`);
      continue;
    }
    const payload = await client.getBlob(repository, layer.digest, {
      maxBytes: Limits.signatureBytes,
      expectedSize: layer.size,
    });
    if (!payload) {
      skip(layer.digest, `payload ${layer.digest} is missing`);
      continue;
    }
    const parsed = parseSimpleSigning(payload);
    if (!parsed || parsed.critical.type !== simpleSigningType) {
      skip(layer.digest, `payload ${layer.digest} is not a cosign simple-signing payload`);
      continue;
    }
    const signed = parsed.critical.image['docker-manifest-digest'];
    if (signed !== digest) {
      skip(layer.digest, `signature payload is for ${signed}, not ${digest}`);
      continue;
    }
    if (!verifySignature(key, payload, Buffer.from(sig, 'base64'))) {
      skip(layer.digest, notByKey, true);
      continue;
    }
    const named = parsed.critical.identity['docker-reference'];
    if (options.repositoryMatch && !namesRepository(named, ref)) {
      skip(
        layer.digest,
        `signature names ${named}, not ${ref.host}/${repository} (--repository-match)`,
      );
      continue;
    }
    valid++;
  }
  if (valid === 0) {
    throw new VerificationError(
      `signature check failed for ${digest}: ${reasons.length > 0 ? reasons.join('; ') : 'no signature layers'}`,
    );
  }
  return valid;
}

async function checkAttestations(
  client: RegistryClient,
  repository: string,
  digest: string,
  key: KeyObject,
  ignored: IgnoredSignature[],
): Promise<{
  attestations: VerifyReport['attestations'];
  statements: Map<string, ParsedStatement>;
}> {
  const tag = attestationTag(digest);
  const manifest = await client.getManifest(repository, tag);
  if (!manifest)
    throw new VerificationError(`${repository}@${digest} has no attestations: no ${tag}`);
  const layers = parseManifest(manifest.bytes, `attestation manifest ${tag}`).layers.filter(
    (l) => l.mediaType === MediaType.dsseEnvelope,
  );
  if (layers.length === 0) throw new VerificationError(`${tag} holds no DSSE envelopes`);
  const attestations: VerifyReport['attestations'] = [];
  const statements = new Map<string, ParsedStatement>();
  for (const layer of layers) {
    const bytes = await client.getBlob(repository, layer.digest, {
      maxBytes: Limits.attestationBytes,
      expectedSize: layer.size,
    });
    const envelope = bytes && parseEnvelope(bytes);
    const label = `attestation ${layer.annotations?.predicateType ?? layer.digest}`;
    if (!envelope) throw new VerificationError(`${label}: not a DSSE envelope`);
    const s = checkEnvelope(envelope, key, digest, label);
    if (!s) {
      const predicateType = layer.annotations?.predicateType;
      ignored.push({
        kind: 'attestation',
        digest: layer.digest,
        manifest: digest,
        ...(predicateType ? { predicateType } : {}),
        reason: `${label}: ${notByKey}`,
        otherSigner: true,
      });
      continue;
    }
    attestations.push({ predicateType: s.predicateType, layer: layer.digest });
    if (!statements.has(s.predicateType)) statements.set(s.predicateType, s);
  }
  return { attestations, statements };
}

/**
 * The statement of an envelope signed by `key`, or undefined when the key did not sign it (another
 * signer's, which is ignored). What the key signed must be an in-toto statement about `digest`.
 */
function checkEnvelope(
  envelope: DsseEnvelope,
  key: KeyObject,
  digest: string,
  label: string,
): ParsedStatement | undefined {
  const body = verifyEnvelope(envelope, key);
  if (!body) return undefined;
  if (envelope.payloadType !== inTotoPayloadType)
    throw new VerificationError(`${label}: payload type ${envelope.payloadType} is not in-toto`);
  const s = parseStatement(body);
  if (!s) throw new VerificationError(`${label}: payload is not an in-toto statement`);
  if (!coversDigest(s, digest)) {
    const subjects = s.subject
      .map((x) =>
        Object.entries(x.digest)
          .map(([a, h]) => `${a}:${h}`)
          .join(','),
      )
      .join(' ');
    throw new VerificationError(
      `${label} (${s.predicateType}): its subject is ${subjects}, not this image ${digest}`,
    );
  }
  return s;
}

async function checkBundles(
  client: RegistryClient,
  repository: string,
  digest: string,
  key: KeyObject,
  ignored: IgnoredSignature[],
): Promise<number> {
  const index = await client.getManifest(repository, referrersTag(digest));
  if (!index) return 0;
  let verified = 0;
  for (const d of parseIndex(index.bytes, `referrers index of ${digest}`).manifests) {
    if (d.artifactType !== MediaType.sigstoreBundle) continue;
    const label = `Sigstore bundle ${d.digest}`;
    const manifest = await client.getManifest(repository, d.digest);
    if (!manifest)
      throw new VerificationError(`${label}: listed in the referrers index but missing`);
    const parsed = parseManifest(manifest.bytes, label);
    if (parsed.subject?.digest !== digest)
      throw new VerificationError(
        `${label}: its subject is ${parsed.subject?.digest ?? 'missing'}, not ${digest}`,
      );
    const layer = parsed.layers.find((l) => l.mediaType === MediaType.sigstoreBundle);
    const bytes =
      layer &&
      (await client.getBlob(repository, layer.digest, {
        maxBytes: Limits.attestationBytes,
        expectedSize: layer.size,
      }));
    if (!bytes) throw new VerificationError(`${label}: bundle layer missing`);
    let envelope: DsseEnvelope;
    let hint: string | undefined;
    try {
      const bundle = bundleFromJSON(JSON.parse(bytes.toString('utf8')));
      assertBundle(bundle);
      if (bundle.content.$case !== 'dsseEnvelope') throw new Error('not a DSSE bundle');
      const material = bundle.verificationMaterial.content;
      hint = material.$case === 'publicKey' ? material.publicKey.hint : undefined;
      const e = bundle.content.dsseEnvelope;
      envelope = {
        payloadType: e.payloadType,
        payload: e.payload.toString('base64'),
        signatures: e.signatures.map((s) => ({ keyid: s.keyid, sig: s.sig.toString('base64') })),
      };
    } catch (error) {
      throw new VerificationError(`${label}: not a valid Sigstore bundle`, { cause: error });
    }
    if (!checkEnvelope(envelope, key, digest, label)) {
      // A bundle that names this very key yet does not verify was changed after signing.
      if (hint === publicKeyHint(key)) throw new VerificationError(`${label}: ${notByKey}`);
      ignored.push({
        kind: 'bundle',
        digest: d.digest,
        manifest: digest,
        reason: `${label}: ${notByKey}`,
        otherSigner: true,
      });
      continue;
    }
    verified++;
  }
  return verified;
}

function spdxSummary(s: ParsedStatement): VerifyReport['sbom'] {
  const packages = field(s.predicate, 'packages');
  const describes = field(s.predicate, 'documentDescribes');
  const roots = new Set(
    Array.isArray(describes) ? describes.filter((x): x is string => typeof x === 'string') : [],
  );
  const count = Array.isArray(packages)
    ? packages.filter((p) => !roots.has(String(field(p, 'SPDXID')))).length
    : 0;
  return {
    format: 'SPDX',
    version: String(field(s.predicate, 'spdxVersion') ?? 'unknown'),
    packages: count,
  };
}

function provenanceSummary(s: ParsedStatement): VerifyReport['provenance'] {
  const definition = field(s.predicate, 'buildDefinition');
  const version = field(field(definition, 'externalParameters'), 'version');
  const builderId = field(field(field(s.predicate, 'runDetails'), 'builder'), 'id');
  const buildType = field(definition, 'buildType');
  return {
    upstreamVersion: typeof version === 'string' ? version : undefined,
    buildType: typeof buildType === 'string' ? buildType : undefined,
    builderId: typeof builderId === 'string' ? builderId : undefined,
  };
}

function field(value: unknown, key: string): unknown {
  return value !== null && typeof value === 'object'
    ? (value as Record<string, unknown>)[key]
    : undefined;
}

function arrayLength(value: unknown): number {
  return Array.isArray(value) ? value.length : 0;
}
