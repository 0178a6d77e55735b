import { execFile } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { sha256Digest } from '../../src/oci/digest.ts';
import { parseIndex, parseManifest } from '../../src/oci/manifest-schema.ts';
import { MediaType, type Descriptor } from '../../src/oci/media-types.ts';
import { parseReference } from '../../src/oci/reference.ts';
import type { RegistryClient } from '../../src/oci/registry-client.ts';
import {
  attestationTag,
  bundleManifest,
  referrersIndex,
  referrersTag,
  cosignManifest,
  signatureAnnotation,
  signatureTag,
} from '../../src/sign/cosign-objects.ts';
import { inTotoPayloadType, signEnvelope, type DsseEnvelope } from '../../src/sign/dsse.ts';
import { statement } from '../../src/sign/in-toto.ts';
import { simpleSigningPayload } from '../../src/sign/simple-signing.ts';
import { VerificationError, verifyImage, type VerifyReport } from '../../src/sign/verify.ts';
import { formatReport } from '../../src/cli/verify.ts';
import { uniqueName } from '../helpers/stack.ts';
import { makeLayout, makeRequest, newSigner, pushArchs, registry } from './fixtures.ts';
import { publishImage } from '../../src/publish/index.ts';

const run = promisify(execFile);

async function published(
  options: { repository?: string; signer?: ReturnType<typeof newSigner>; version?: string } = {},
) {
  const client = registry();
  const repository = options.repository ?? uniqueName('kiln/verify');
  const signer = options.signer ?? newSigner();
  const version = options.version ?? '4.0.0';
  const { layoutDir, images } = await makeLayout(['amd64'], `verify-${version}`);
  const archResults = await pushArchs(client, repository, layoutDir, images, version);
  const result = await publishImage({
    client,
    repository,
    request: makeRequest(repository, version, [`${version}-r0`, 'latest']),
    archResults,
    signer,
  });
  const ref = parseReference(`${client.host}/${repository}:latest`);
  return { client, repository, signer, digest: result.digest, ref };
}

/** Replaces the layers of a `.sig` or `.att` manifest, as an attacker with push rights could. */
async function rewrite(
  client: RegistryClient,
  repository: string,
  tag: string,
  edit: (layers: Descriptor[]) => Promise<Descriptor[]>,
): Promise<void> {
  const current = await client.getManifest(repository, tag);
  const layers = await edit(parseManifest(current!.bytes, tag).layers);
  const { manifest, config } = cosignManifest(layers);
  await client.pushBlob(repository, config.descriptor.digest, { data: config.bytes });
  await client.putManifest(repository, tag, manifest.bytes, MediaType.imageManifest);
}

async function pushJsonLayer(
  client: RegistryClient,
  repository: string,
  value: unknown,
  mediaType: string,
  annotations: Record<string, string>,
): Promise<Descriptor> {
  const bytes = Buffer.from(JSON.stringify(value));
  const digest = sha256Digest(bytes);
  await client.pushBlob(repository, digest, { data: bytes });
  return { mediaType, digest, size: bytes.length, annotations };
}

async function kiln(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(
      process.execPath,
      ['--import', 'tsx', 'src/cli.ts', ...args],
      {
        env: { ...process.env, KILN_LOG_LEVEL: 'silent' },
      },
    );
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('kiln verify fails with a clear reason', () => {
  it('on a tampered signature', async () => {
    const { client, repository, signer, digest, ref } = await published();
    await rewrite(client, repository, signatureTag(digest), async (layers) =>
      layers.map((l) => {
        const sig = Buffer.from(l.annotations![signatureAnnotation]!, 'base64');
        sig.writeUInt8(sig.readUInt8(sig.length - 1) ^ 0x01, sig.length - 1);
        return { ...l, annotations: { [signatureAnnotation]: sig.toString('base64') } };
      }),
    );
    await expect(verifyImage(client, ref, signer.publicKey)).rejects.toThrow(
      /signature does not verify with the given key/,
    );
  });

  it('on a signature by another key', async () => {
    const { client, repository, signer, digest, ref } = await published();
    const other = newSigner();
    const payload = simpleSigningPayload(`${client.host}/${repository}`, digest);
    await rewrite(client, repository, signatureTag(digest), async () => [
      await pushJsonLayer(
        client,
        repository,
        JSON.parse(payload.toString()),
        MediaType.cosignSimpleSigning,
        {
          [signatureAnnotation]: other.sign(payload).toString('base64'),
        },
      ),
    ]);
    await expect(verifyImage(client, ref, signer.publicKey)).rejects.toThrow(
      /signature does not verify with the given key/,
    );
    // The real key against the untouched image of another publish fails the same way.
    const second = await published();
    await expect(verifyImage(second.client, second.ref, other.publicKey)).rejects.toThrow(
      /signature does not verify/,
    );
  });

  it('on a tampered attestation', async () => {
    const { client, repository, signer, digest, ref } = await published();
    await rewrite(client, repository, attestationTag(digest), async (layers) =>
      Promise.all(
        layers.map(async (l) => {
          if (l.annotations?.predicateType !== 'https://spdx.dev/Document') return l;
          const envelope = JSON.parse(
            (await client.getBlob(repository, l.digest))!.toString(),
          ) as DsseEnvelope;
          const body = Buffer.from(envelope.payload, 'base64')
            .toString()
            .replace('"libssl3"', '"libssl3-backdoored"');
          return pushJsonLayer(
            client,
            repository,
            { ...envelope, payload: Buffer.from(body).toString('base64') },
            l.mediaType,
            l.annotations,
          );
        }),
      ),
    );
    await expect(verifyImage(client, ref, signer.publicKey)).rejects.toThrow(
      /attestation https:\/\/spdx.dev\/Document: signature does not verify/,
    );
  });

  it('on an attestation for another digest', async () => {
    const { client, repository, signer, digest, ref } = await published();
    const otherDigest = `sha256:${'0'.repeat(64)}`;
    const s = statement(
      `${client.host}/${repository}`,
      otherDigest,
      'https://slsa.dev/provenance/v1',
      { buildDefinition: {} },
    );
    const envelope = signEnvelope(inTotoPayloadType, Buffer.from(JSON.stringify(s)), signer);
    await rewrite(client, repository, attestationTag(digest), async (layers) => [
      ...layers,
      await pushJsonLayer(client, repository, envelope, MediaType.dsseEnvelope, {
        predicateType: 'https://slsa.dev/provenance/v1',
      }),
    ]);
    await expect(verifyImage(client, ref, signer.publicKey)).rejects.toThrow(
      new RegExp(`subject is ${otherDigest}, not this image ${digest}`),
    );
  });
});

describe('kiln verify refuses a valid signature copied from another image', () => {
  it('in the same repository: `kiln verify` of B fails, naming both digests', async () => {
    const a = await published({ version: '4.0.0' });
    const b = await published({ repository: a.repository, signer: a.signer, version: '4.1.0' });
    const { client, repository, signer } = a;
    expect(b.digest).not.toBe(a.digest);
    // Both verify as published.
    await verifyImage(
      client,
      parseReference(`${client.host}/${repository}@${a.digest}`),
      signer.publicKey,
    );
    await verifyImage(client, b.ref, signer.publicKey);

    // Someone with push rights puts A's signature manifest (untouched, validly signed) under B's tag.
    const sigA = await client.getManifest(repository, signatureTag(a.digest));
    await client.putManifest(
      repository,
      signatureTag(b.digest),
      sigA!.bytes,
      MediaType.imageManifest,
    );
    expect((await client.getManifest(repository, signatureTag(b.digest)))?.digest).toBe(
      sigA!.digest,
    );

    const mismatch = `signature payload is for ${a.digest}, not ${b.digest}`;
    await expect(verifyImage(client, b.ref, signer.publicKey)).rejects.toThrow(VerificationError);
    await expect(verifyImage(client, b.ref, signer.publicKey)).rejects.toThrow(mismatch);

    const dir = await mkdtemp(path.join(os.tmpdir(), 'kiln-verify-'));
    const key = path.join(dir, 'key.pub');
    await writeFile(key, signer.publicPem);
    const [bad, good] = await Promise.all([
      kiln(['verify', `${client.host}/${repository}:4.1.0-r0`, '--key', key, '--json']),
      kiln(['verify', `${client.host}/${repository}:4.0.0-r0`, '--key', key]),
    ]);
    expect(bad.code, bad.stderr).toBe(1);
    expect(JSON.parse(bad.stdout)).toMatchObject({ verified: false });
    expect(bad.stderr).toContain(
      `kiln verify: signature check failed for ${b.digest}: ${mismatch}`,
    );
    expect(good.code, good.stderr).toBe(0);
    expect(good.stdout).toContain(`Verified ${client.host}/${repository}@${a.digest}`);
  });

  it('from another repository, blobs and all', async () => {
    const a = await published({ version: '4.0.0' });
    const b = await published({ signer: a.signer, version: '4.1.0' });
    const { client } = a;
    const sigA = await client.getManifest(a.repository, signatureTag(a.digest));
    const manifest = parseManifest(sigA!.bytes, 'signature of A');
    for (const d of [manifest.config, ...manifest.layers]) {
      const data = await client.getBlob(a.repository, d.digest);
      await client.pushBlob(b.repository, d.digest, { data: data! });
    }
    await client.putManifest(
      b.repository,
      signatureTag(b.digest),
      sigA!.bytes,
      MediaType.imageManifest,
    );
    await expect(verifyImage(client, b.ref, a.signer.publicKey)).rejects.toThrow(
      `signature check failed for ${b.digest}: signature payload is for ${a.digest}, not ${b.digest}`,
    );
  });
});

describe('kiln verify checks the Sigstore bundle referrers too', () => {
  it('fails on a bundle whose DSSE payload was changed', async () => {
    const { client, repository, signer, digest, ref } = await published();
    const tag = referrersTag(digest);
    const index = parseIndex((await client.getManifest(repository, tag))!.bytes, tag);
    const first = index.manifests[0]!;
    const manifest = parseManifest(
      (await client.getManifest(repository, first.digest))!.bytes,
      'bundle',
    );
    const bundle = JSON.parse(
      (await client.getBlob(repository, manifest.layers[0]!.digest))!.toString(),
    ) as {
      dsseEnvelope: { payload: string };
    };
    const original = Buffer.from(bundle.dsseEnvelope.payload, 'base64').toString();
    const body = original
      .replace('"SPDX-2.3"', '"SPDX-2.2"')
      .replace('Statement/v1', 'Statement/v9');
    expect(body).not.toBe(original);
    bundle.dsseEnvelope.payload = Buffer.from(body).toString('base64');
    const bytes = Buffer.from(JSON.stringify(bundle));
    const layer = {
      mediaType: MediaType.sigstoreBundle,
      digest: sha256Digest(bytes),
      size: bytes.length,
    };
    await client.pushBlob(repository, layer.digest, { data: bytes });
    const forged = bundleManifest(
      { descriptor: layer, bytes },
      manifest.subject!,
      manifest.annotations ?? {},
    );
    await client.putManifest(
      repository,
      forged.descriptor.digest,
      forged.bytes,
      MediaType.imageManifest,
    );
    const manifests = [
      { ...first, digest: forged.descriptor.digest, size: forged.bytes.length },
      ...index.manifests.slice(1),
    ];
    await client.putManifest(repository, tag, referrersIndex(manifests), MediaType.imageIndex);
    await expect(verifyImage(client, ref, signer.publicKey)).rejects.toThrow(
      /Sigstore bundle sha256:[a-f0-9]{64}: signature does not verify/,
    );
  });
});

describe('kiln verify reads what cosign writes', () => {
  it('accepts a signature and attestations laid out by hand exactly as cosign documents them', async () => {
    const client = registry();
    const repository = uniqueName('cosign/compat');
    const signer = newSigner();
    const { layoutDir, images } = await makeLayout(['amd64'], 'cosign');
    await pushArchs(client, repository, layoutDir, images, '1.0.0');
    const digest = images[0]!.manifest.digest;
    await client.putManifest(
      repository,
      'v1',
      (await client.getManifest(repository, digest))!.bytes,
      MediaType.imageManifest,
    );

    // cosign sign --key: simple-signing payload with the cosign type, DER signature base64 in the annotation.
    const payload = Buffer.from(
      `{"critical":{"identity":{"docker-reference":"${client.host}/${repository}"},"image":{"docker-manifest-digest":"${digest}"},"type":"cosign container image signature"},"optional":{"creator":"cosign"}}`,
    );
    const sigLayer = await pushRaw(client, repository, payload, MediaType.cosignSimpleSigning, {
      [signatureAnnotation]: signer.sign(payload).toString('base64'),
    });
    // cosign attest --key: in-toto Statement v0.1 in a DSSE envelope, predicateType annotation, empty signature annotation.
    const attLayers: Descriptor[] = [];
    for (const [predicateType, predicate] of [
      [
        'https://spdx.dev/Document',
        {
          spdxVersion: 'SPDX-2.3',
          documentDescribes: ['SPDXRef-A'],
          packages: [{ SPDXID: 'SPDXRef-A' }, { SPDXID: 'SPDXRef-B' }],
        },
      ],
      [
        'https://slsa.dev/provenance/v1',
        {
          buildDefinition: {
            buildType: 'https://example.org/t',
            externalParameters: { version: '1.0.0' },
          },
          runDetails: { builder: { id: 'https://example.org/b' } },
        },
      ],
    ] as const) {
      const st = {
        _type: 'https://in-toto.io/Statement/v0.1',
        predicateType,
        subject: [{ name: `${client.host}/${repository}`, digest: { sha256: digest.slice(7) } }],
        predicate,
      };
      const env = signEnvelope(inTotoPayloadType, Buffer.from(JSON.stringify(st)), signer);
      attLayers.push(
        await pushRaw(
          client,
          repository,
          Buffer.from(JSON.stringify(env)),
          MediaType.dsseEnvelope,
          { [signatureAnnotation]: '', predicateType },
        ),
      );
    }
    for (const [tag, layers] of [
      [signatureTag(digest), [sigLayer]],
      [attestationTag(digest), attLayers],
    ] as const) {
      const { manifest, config } = cosignManifest([...layers]);
      await client.pushBlob(repository, config.descriptor.digest, { data: config.bytes });
      await client.putManifest(repository, tag, manifest.bytes, MediaType.imageManifest);
    }
    const report = await verifyImage(
      client,
      parseReference(`${client.host}/${repository}:v1`),
      signer.publicKey,
    );
    expect(report.sbom.packages).toBe(1);
    expect(report.provenance.upstreamVersion).toBe('1.0.0');
    expect(report.bundles).toBe(0);
  });
});

async function pushRaw(
  client: RegistryClient,
  repository: string,
  bytes: Buffer,
  mediaType: string,
  annotations: Record<string, string>,
): Promise<Descriptor> {
  const digest = sha256Digest(bytes);
  await client.pushBlob(repository, digest, { data: bytes });
  return { mediaType, digest, size: bytes.length, annotations };
}

describe('kiln verify command', () => {
  it('prints JSON (or a summary) and exits 0; exits 1 with the reason for the wrong key', async () => {
    const { client, repository, signer } = await published();
    const dir = await mkdtemp(path.join(os.tmpdir(), 'kiln-verify-'));
    const good = path.join(dir, 'good.pub');
    const bad = path.join(dir, 'bad.pub');
    await writeFile(good, signer.publicPem);
    await writeFile(bad, newSigner().publicPem);
    const ref = `${client.host}/${repository}:4.0.0-r0`;

    // Each run starts the whole CLI (~4 s): run the two in parallel, check the text form in-process.
    const [json, fail] = await Promise.all([
      kiln(['verify', ref, '--key', good, '--json']),
      kiln(['verify', ref, '--key', bad]),
    ]);
    expect(json.code).toBe(0);
    const report = JSON.parse(json.stdout) as VerifyReport & { verified: boolean };
    expect(report).toMatchObject({
      verified: true,
      sbom: { packages: 3 },
      provenance: { upstreamVersion: '4.0.0' },
    });
    const text = formatReport(report);
    expect(text).toMatch(/Verified .*@sha256:/);
    expect(text).toMatch(/SBOM: 3 packages \(SPDX-2.3\)/);
    expect(text).toMatch(/provenance: upstream version 4.0.0/);

    expect(fail.code).toBe(1);
    expect(fail.stderr).toMatch(
      /kiln verify: signature check failed for sha256:[a-f0-9]{64}: signature does not verify with the given key/,
    );
  });
});
