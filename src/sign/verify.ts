import type { KeyObject } from 'node:crypto';
import { assertBundle, bundleFromJSON } from '@sigstore/bundle';
import { PermanentError } from '../errors.ts';
import { Limits } from '../oci/limits.ts';
import { parseIndex, parseManifest } from '../oci/manifest-schema.ts';
import { MediaType } from '../oci/media-types.ts';
import type { ImageReference } from '../oci/reference.ts';
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
import { verifySignature } from './signer.ts';

/** A check `kiln verify` could not pass; the message is the reason a person reads. */
export class VerificationError extends PermanentError {}

export interface VerifyReport {
  reference: string;
  digest: string;
  /** Signature layers that verified with the key. */
  signatures: number;
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
}

/**
 * Verifies a published image with a public key, the way cosign's formats define it: resolves the
 * reference to a digest, requires a simple-signing signature of that digest by the key, then
 * requires every attestation in `.att` (and every Sigstore bundle referrer) to be signed by the
 * key over the DSSE PAE and to have the image as its subject. Throws {@link VerificationError}
 * with the first reason it fails.
 */
export async function verifyImage(
  client: RegistryClient,
  ref: ImageReference,
  publicKey: KeyObject,
): Promise<VerifyReport> {
  const { repository } = ref;
  const name = `${ref.host}/${repository}`;
  const target = ref.digest ?? ref.tag ?? 'latest';
  const head = await client.headManifest(repository, target);
  if (!head) throw new VerificationError(`${name}:${target} does not exist`);
  const digest = head.digest;
  if (ref.digest && digest !== ref.digest)
    throw new VerificationError(`${name}@${ref.digest}: registry answered with ${digest}`);

  const signatures = await checkSignatures(client, repository, digest, publicKey);
  const { attestations, statements } = await checkAttestations(
    client,
    repository,
    digest,
    publicKey,
  );
  const bundles = await checkBundles(client, repository, digest, publicKey);

  const spdx = statements.get(PredicateType.spdx);
  if (!spdx)
    throw new VerificationError(
      `${name}@${digest}: no SPDX SBOM attestation (${PredicateType.spdx})`,
    );
  const provenance = statements.get(PredicateType.slsaProvenance);
  if (!provenance)
    throw new VerificationError(
      `${name}@${digest}: no SLSA provenance attestation (${PredicateType.slsaProvenance})`,
    );
  const cdx = statements.get(PredicateType.cyclonedx);
  return {
    reference: `${name}@${digest}`,
    digest,
    signatures,
    attestations,
    sbom: spdxSummary(spdx),
    ...(cdx ? { cyclonedx: { components: arrayLength(field(cdx.predicate, 'components')) } } : {}),
    provenance: provenanceSummary(provenance),
    bundles,
  };
}

async function checkSignatures(
  client: RegistryClient,
  repository: string,
  digest: string,
  key: KeyObject,
): Promise<number> {
  const tag = signatureTag(digest);
  const manifest = await client.getManifest(repository, tag);
  if (!manifest) throw new VerificationError(`${repository}@${digest} is not signed: no ${tag}`);
  const layers = parseManifest(manifest.bytes, `signature manifest ${tag}`).layers.filter(
    (l) => l.mediaType === MediaType.cosignSimpleSigning,
  );
  const reasons: string[] = [];
  let valid = 0;
  for (const layer of layers) {
    const sig = layer.annotations?.[signatureAnnotation];
    if (!sig) {
      reasons.push(`layer ${layer.digest} has no ${signatureAnnotation} annotation`);
      continue;
    }
    const payload = await client.getBlob(repository, layer.digest, {
      maxBytes: Limits.signatureBytes,
      expectedSize: layer.size,
    });
    if (!payload) {
      reasons.push(`payload ${layer.digest} is missing`);
      continue;
    }
    const parsed = parseSimpleSigning(payload);
    if (!parsed || parsed.critical.type !== simpleSigningType) {
      reasons.push(`payload ${layer.digest} is not a cosign simple-signing payload`);
      continue;
    }
    const signed = parsed.critical.image['docker-manifest-digest'];
    if (signed !== digest) {
      reasons.push(`signature payload is for ${signed}, not ${digest}`);
      continue;
    }
    if (!verifySignature(key, payload, Buffer.from(sig, 'base64'))) {
      reasons.push(
        'signature does not verify with the given key (tampered, or signed by another key)',
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
    attestations.push({ predicateType: s.predicateType, layer: layer.digest });
    if (!statements.has(s.predicateType)) statements.set(s.predicateType, s);
  }
  return { attestations, statements };
}

function checkEnvelope(
  envelope: DsseEnvelope,
  key: KeyObject,
  digest: string,
  label: string,
): ParsedStatement {
  if (envelope.payloadType !== inTotoPayloadType)
    throw new VerificationError(`${label}: payload type ${envelope.payloadType} is not in-toto`);
  const body = verifyEnvelope(envelope, key);
  if (!body)
    throw new VerificationError(
      `${label}: signature does not verify with the given key (tampered, or signed by another key)`,
    );
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
    try {
      const bundle = bundleFromJSON(JSON.parse(bytes.toString('utf8')));
      assertBundle(bundle);
      if (bundle.content.$case !== 'dsseEnvelope') throw new Error('not a DSSE bundle');
      const e = bundle.content.dsseEnvelope;
      envelope = {
        payloadType: e.payloadType,
        payload: e.payload.toString('base64'),
        signatures: e.signatures.map((s) => ({ keyid: s.keyid, sig: s.sig.toString('base64') })),
      };
    } catch (error) {
      throw new VerificationError(`${label}: not a valid Sigstore bundle`, { cause: error });
    }
    checkEnvelope(envelope, key, digest, label);
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
