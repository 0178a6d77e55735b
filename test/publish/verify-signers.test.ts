import { execFile } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { formatReport } from '../../src/cli/verify.ts';
import { parseIndex, parseManifest } from '../../src/oci/manifest-schema.ts';
import { MediaType } from '../../src/oci/media-types.ts';
import { parseReference } from '../../src/oci/reference.ts';
import type { RegistryClient } from '../../src/oci/registry-client.ts';
import {
  ensureAttestations,
  ensureBundleReferrers,
  ensureInstanceSignatures,
  ensureSignature,
  publishImage,
} from '../../src/publish/index.ts';
import { attestationStatements } from '../../src/publish/statements.ts';
import { attestationTag, signatureTag } from '../../src/sign/cosign-objects.ts';
import { inTotoPayloadType, signEnvelope } from '../../src/sign/dsse.ts';
import { statement } from '../../src/sign/in-toto.ts';
import type { Signer } from '../../src/sign/signer.ts';
import { verifyImage, type VerifyReport } from '../../src/sign/verify.ts';
import { uniqueName } from '../helpers/stack.ts';
import { makeLayout, makeRequest, newSigner, pushArchs, registry } from './fixtures.ts';

const run = promisify(execFile);

async function kiln(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(
      process.execPath,
      ['--import', 'tsx', 'src/cli.ts', ...args],
      { env: { ...process.env, KILN_LOG_LEVEL: 'silent' } },
    );
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

async function keyFile(signer: Signer): Promise<string> {
  const file = path.join(await mkdtemp(path.join(os.tmpdir(), 'kiln-signers-')), 'key.pub');
  await writeFile(file, signer.publicPem);
  return file;
}

/** A multi-arch image pushed and tagged `latest`, signed by nobody yet. */
async function unsigned(client: RegistryClient, repository: string, seed: string) {
  const { layoutDir, images } = await makeLayout(['amd64', 'arm64'], seed);
  const archResults = await pushArchs(client, repository, layoutDir, images, '7.0.0');
  const request = makeRequest(repository, '7.0.0', ['7.0.0-r0', 'latest']);
  return { archResults, request };
}

/** What a second signer would attach with kiln's own code: signatures (index and arches), attestations. */
async function attachAs(
  signer: Signer,
  client: RegistryClient,
  repository: string,
  digest: string,
  options: Parameters<typeof attestationStatements>[0],
  predicateTypes: string[],
) {
  await ensureSignature(client, repository, digest, signer);
  const index = await client.getManifest(repository, digest);
  await ensureInstanceSignatures(client, repository, index!.bytes, signer);
  const statements = attestationStatements(
    options,
    `${client.host}/${repository}`,
    digest,
    '2025-01-01T00:00:00Z',
  ).filter((s) => predicateTypes.includes(s.predicateType));
  return ensureAttestations(client, repository, digest, statements, signer);
}

describe('kiln verify accepts extra signers, as cosign does', () => {
  it('passes with another signer’s signature, attestation and bundle attached, and reports them', async () => {
    const client = registry();
    const repository = uniqueName('kiln/signers');
    const kilnKey = newSigner();
    const other = newSigner();
    const { archResults, request } = await unsigned(client, repository, 'signers');
    const published = await publishImage({
      client,
      repository,
      request,
      archResults,
      signer: kilnKey,
    });
    const { digest } = published;
    const attested = await attachAs(other, client, repository, digest, { request, archResults }, [
      'https://spdx.dev/Document',
    ]);
    // And a Sigstore bundle referrer of its own predicate type (kiln's code adds one per type).
    const predicateType = 'https://example.org/other-signer/v1';
    const body = Buffer.from(
      JSON.stringify(statement(`${client.host}/${repository}`, digest, predicateType, {})),
    );
    const index = await client.getManifest(repository, digest);
    const added = await ensureBundleReferrers(
      client,
      repository,
      { mediaType: MediaType.imageIndex, digest, size: index!.bytes.length },
      [
        ...attested,
        {
          predicateType,
          envelope: signEnvelope(inTotoPayloadType, body, other),
          created: true,
        },
      ],
      other,
      '2025-01-01T00:00:00Z',
    );
    expect(added).toBe(1);
    // Both signers are there: two signature layers, four attestation envelopes.
    const sig = await client.getManifest(repository, signatureTag(digest));
    expect(parseManifest(sig!.bytes, 'sig').layers).toHaveLength(2);
    const att = await client.getManifest(repository, attestationTag(digest));
    expect(parseManifest(att!.bytes, 'att').layers).toHaveLength(4);

    const ref = parseReference(`${client.host}/${repository}:latest`);
    const report = await verifyImage(client, ref, kilnKey.publicKey);
    expect(report.signatures).toBe(1);
    expect(report.instances).toHaveLength(2);
    expect(report.attestations).toHaveLength(3);
    expect(report.bundles).toBe(3);
    // Its signatures of the index and of both arch manifests, its SPDX envelope and its bundle.
    const arches = report.instances.map((i) => i.digest);
    expect(report.ignored.map((i) => [i.kind, i.manifest, i.predicateType, i.otherSigner])).toEqual(
      [
        ['signature', digest, undefined, true],
        ['signature', arches[0], undefined, true],
        ['signature', arches[1], undefined, true],
        ['attestation', digest, 'https://spdx.dev/Document', true],
        ['bundle', digest, undefined, true],
      ],
    );
    expect(formatReport(report)).toContain(
      'other signers (ignored): 3 signatures, 1 attestation, 1 Sigstore bundle not signed by this key',
    );

    // The other signer's key verifies the same image too: one signature, its SPDX; kiln's are ignored.
    await expect(verifyImage(client, ref, other.publicKey)).rejects.toThrow(
      /no SLSA provenance attestation \(https:\/\/slsa.dev\/provenance\/v1\) signed by the given key; attestation https:\/\/slsa.dev\/provenance\/v1: signature does not verify/,
    );

    const json = await kiln(['verify', formatRef(ref), '--key', await keyFile(kilnKey), '--json']);
    expect(json.code, json.stderr).toBe(0);
    const printed = JSON.parse(json.stdout) as VerifyReport & { verified: boolean };
    expect(printed.verified).toBe(true);
    expect(printed.ignored.filter((i) => i.otherSigner)).toHaveLength(5);
  });

  it('fails when only the other signer signed and attested', async () => {
    const client = registry();
    const repository = uniqueName('kiln/signers-other');
    const kilnKey = newSigner();
    const other = newSigner();
    const { archResults, request } = await unsigned(client, repository, 'signers-other');
    const { digest } = await publishImage({
      client,
      repository,
      request,
      archResults,
      signer: other,
    });
    const ref = parseReference(`${client.host}/${repository}:latest`);
    await expect(verifyImage(client, ref, kilnKey.publicKey)).rejects.toThrow(
      `signature check failed for ${digest}: signature does not verify with the given key`,
    );
    await expect(verifyImage(client, ref, other.publicKey)).resolves.toMatchObject({ digest });
  });

  it('fails when kiln’s key signed the image but only the other signer attested it', async () => {
    const client = registry();
    const repository = uniqueName('kiln/signers-att');
    const kilnKey = newSigner();
    const other = newSigner();
    const { archResults, request } = await unsigned(client, repository, 'signers-att');
    // Push the index and tag it by hand, so that kiln's key signs and nothing else.
    const { digest } = await publishImage({
      client,
      repository,
      request,
      archResults,
      signer: undefined,
      allowUnsigned: true,
    });
    await ensureSignature(client, repository, digest, kilnKey);
    const index = await client.getManifest(repository, digest);
    await ensureInstanceSignatures(client, repository, index!.bytes, kilnKey);
    await attachAs(other, client, repository, digest, { request, archResults }, [
      'https://spdx.dev/Document',
      'https://slsa.dev/provenance/v1',
    ]);
    const ref = parseReference(`${client.host}/${repository}:latest`);
    await expect(verifyImage(client, ref, kilnKey.publicKey)).rejects.toThrow(
      /no SPDX SBOM attestation \(https:\/\/spdx.dev\/Document\) signed by the given key; attestation https:\/\/spdx.dev\/Document: signature does not verify/,
    );
  });
});

describe('kiln verify --repository-match', () => {
  it('refuses a signature copied from repository A to B (same digest), naming both references', async () => {
    const client = registry();
    const a = uniqueName('kiln/match-a');
    const b = uniqueName('kiln/match-b');
    const signer = newSigner();
    const { archResults, request } = await unsigned(client, a, 'match');
    const { digest } = await publishImage({ client, repository: a, request, archResults, signer });

    // The same bytes in B: arch manifests (same layout), the index by digest, a tag.
    await unsigned(client, b, 'match');
    const index = await client.getManifest(a, digest);
    await client.putManifest(b, digest, index!.bytes, MediaType.imageIndex);
    await client.putManifest(b, 'latest', index!.bytes, MediaType.imageIndex);
    expect(parseIndex(index!.bytes, 'index').manifests).toHaveLength(2);
    // A's signatures (index and arches) and attestations, blobs and all, under B's supplement tags.
    const arches = parseIndex(index!.bytes, 'index').manifests.map((m) => signatureTag(m.digest));
    for (const tag of [signatureTag(digest), ...arches, attestationTag(digest)]) {
      const manifest = await client.getManifest(a, tag);
      const parsed = parseManifest(manifest!.bytes, tag);
      for (const d of [parsed.config, ...parsed.layers]) {
        const data = await client.getBlob(a, d.digest);
        await client.pushBlob(b, d.digest, { data: data! });
      }
      await client.putManifest(b, tag, manifest!.bytes, MediaType.imageManifest);
    }

    const ref = parseReference(`${client.host}/${b}:latest`);
    await expect(verifyImage(client, ref, signer.publicKey)).resolves.toMatchObject({ digest });
    const refused = `signature check failed for ${digest}: signature names ${client.host}/${a}, not ${client.host}/${b} (--repository-match)`;
    await expect(
      verifyImage(client, ref, signer.publicKey, { repositoryMatch: true }),
    ).rejects.toThrow(refused);
    // In A itself the signature names the repository verified.
    await expect(
      verifyImage(client, parseReference(`${client.host}/${a}:latest`), signer.publicKey, {
        repositoryMatch: true,
      }),
    ).resolves.toMatchObject({ digest });

    const key = await keyFile(signer);
    const [plain, strict] = await Promise.all([
      kiln(['verify', formatRef(ref), '--key', key]),
      kiln(['verify', formatRef(ref), '--key', key, '--repository-match', '--json']),
    ]);
    expect(plain.code, plain.stderr).toBe(0);
    expect(strict.code).toBe(1);
    expect(JSON.parse(strict.stdout)).toMatchObject({ verified: false });
    expect(strict.stderr).toContain(`kiln verify: ${refused}`);
  });
});

function formatRef(ref: { host: string; repository: string; tag?: string }): string {
  return `${ref.host}/${ref.repository}:${ref.tag ?? 'latest'}`;
}
