import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { sha256Digest } from '../../src/oci/digest.ts';
import { parseIndex, parseManifest } from '../../src/oci/manifest-schema.ts';
import type { RegistryClient } from '../../src/oci/registry-client.ts';
import { publishImage } from '../../src/publish/index.ts';
import { parseReference } from '../../src/oci/reference.ts';
import { signatureTag } from '../../src/sign/cosign-objects.ts';
import { verifyImage } from '../../src/sign/verify.ts';
import { parseSimpleSigning } from '../../src/sign/simple-signing.ts';
import { verifySignature, type Signer } from '../../src/sign/signer.ts';
import { signatureAnnotation } from '../../src/sign/cosign-objects.ts';
import { sigstoreSkopeo, type Skopeo } from '../helpers/sigstore-skopeo.ts';
import { uniqueName } from '../helpers/stack.ts';
import { makeLayout, makeRequest, newSigner, pushArchs, registry } from './fixtures.ts';

const run = promisify(execFile);

/**
 * A containers/image policy that accepts `host/repository` only with a sigstore signature by
 * `key` (cosign's signatures name the repository, hence matchRepository), rejects everything
 * else, and a registries.d that reads sigstore attachments (the `.sig` tags) from the registry.
 */
async function policyFor(host: string, repository: string, key: string) {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'kiln-policy-'));
  const keyPath = path.join(dir, 'cosign.pub');
  await writeFile(keyPath, key);
  const policy = path.join(dir, 'policy.json');
  await writeFile(
    policy,
    JSON.stringify({
      default: [{ type: 'reject' }],
      transports: {
        docker: {
          [`${host}/${repository}`]: [
            { type: 'sigstoreSigned', keyPath, signedIdentity: { type: 'matchRepository' } },
          ],
        },
      },
    }),
  );
  const registriesD = path.join(dir, 'registries.d');
  await mkdir(registriesD);
  await writeFile(
    path.join(registriesD, 'kiln.yaml'),
    `docker:\n  ${host}:\n    use-sigstore-attachments: true\n`,
  );
  return { dir, policy, registriesD };
}

let skopeo: Skopeo;
beforeAll(async () => {
  skopeo = await sigstoreSkopeo();
}, 600_000);

/** `skopeo copy --all` of every arch under the policy, into an OCI layout. */
async function skopeoCopy(
  host: string,
  repository: string,
  tag: string,
  key: string,
): Promise<{ ok: boolean; stderr: string; layout: string }> {
  const { dir, policy, registriesD } = await policyFor(host, repository, key);
  const layout = path.join(dir, 'out');
  try {
    await run(skopeo.command, [
      ...skopeo.args,
      '--policy',
      policy,
      '--registries.d',
      registriesD,
      'copy',
      '--all',
      '--src-tls-verify=false',
      '--remove-signatures',
      `docker://${host}/${repository}:${tag}`,
      `oci:${layout}:${tag}`,
    ]);
    return { ok: true, stderr: '', layout };
  } catch (error) {
    const e = error as { stderr?: string };
    return { ok: false, stderr: e.stderr ?? String(error), layout };
  }
}

async function publish(client: RegistryClient, repository: string, signer: Signer) {
  const { layoutDir, images } = await makeLayout(['amd64', 'arm64'], `skopeo-${repository}`);
  const archResults = await pushArchs(client, repository, layoutDir, images, '6.0.0');
  const result = await publishImage({
    client,
    repository,
    request: makeRequest(repository, '6.0.0', ['6.0.0-r0', 'latest']),
    archResults,
    signer,
  });
  return { result, archDigests: images.map((i) => i.manifest.digest) };
}

describe('containers/image (skopeo) under a sigstoreSigned policy', () => {
  it('uses a real skopeo that supports sigstoreSigned (1.9+) and checks sigstore signatures', async () => {
    const [major = 0, minor = 0] = (/(\d+)\.(\d+)/.exec(skopeo.version) ?? []).slice(1).map(Number);
    expect(major > 1 || (major === 1 && minor >= 9), `${skopeo.origin}: ${skopeo.version}`).toBe(
      true,
    );
  });

  it('copies every arch of a kiln image under kiln’s key, and refuses it under another key', async () => {
    const client = registry();
    const repository = uniqueName('kiln/policy');
    const signer = newSigner();
    const { archDigests } = await publish(client, repository, signer);

    // Each arch manifest carries its own signature: one layer, by kiln's key, naming the repository.
    for (const digest of archDigests) {
      const sig = await client.getManifest(repository, signatureTag(digest));
      expect(sig, `${signatureTag(digest)}`).toBeDefined();
      const [layer, ...more] = parseManifest(sig!.bytes, 'arch signature').layers;
      expect(more).toHaveLength(0);
      const payload = await client.getBlob(repository, layer!.digest);
      expect(parseSimpleSigning(payload!)?.critical).toMatchObject({
        identity: { 'docker-reference': `${client.host}/${repository}` },
        image: { 'docker-manifest-digest': digest },
      });
      const der = Buffer.from(layer!.annotations![signatureAnnotation]!, 'base64');
      expect(verifySignature(signer.publicKey, payload!, der)).toBe(true);
    }

    const [good, bad] = await Promise.all([
      skopeoCopy(client.host, repository, 'latest', signer.publicPem),
      skopeoCopy(client.host, repository, 'latest', newSigner().publicPem),
    ]);
    expect(good.stderr).toBe('');
    expect(good.ok).toBe(true);
    // Both arches were copied, each checked against its own signature.
    const index = parseIndex(await readFile(path.join(good.layout, 'index.json')), 'copied');
    const copied = index.manifests[0]!;
    const blob = await readFile(path.join(good.layout, 'blobs', 'sha256', copied.digest.slice(7)));
    // (skopeo recompresses the fixture's random "gzip" layers, so the digests are new ones.)
    expect(
      parseIndex(blob, 'copied index')
        .manifests.map((m) => m.platform?.architecture)
        .sort(),
    ).toEqual(['amd64', 'arm64']);

    expect(bad.ok).toBe(false);
    expect(bad.stderr).toMatch(/Source image rejected/);
  });

  it('an image published before arch manifests were signed is refused, and a re-publish signs them', async () => {
    const repository = uniqueName('kiln/policy-old');
    const signer = newSigner();
    // kiln before this change: it signed the index only. Its writes of the arch `.sig` tags are dropped.
    const old = registry();
    const put = old.putManifest.bind(old);
    const { layoutDir, images } = await makeLayout(['amd64', 'arm64'], 'skopeo-old');
    const archTags = new Set(images.map((i) => signatureTag(i.manifest.digest)));
    old.putManifest = async (repo, reference, bytes, mediaType) => {
      if (archTags.has(reference)) return sha256Digest(bytes);
      return put(repo, reference, bytes, mediaType);
    };
    const archResults = await pushArchs(old, repository, layoutDir, images, '6.0.0');
    const request = makeRequest(repository, '6.0.0', ['6.0.0-r0', 'latest']);
    await publishImage({ client: old, repository, request, archResults, signer });

    const before = await skopeoCopy(old.host, repository, 'latest', signer.publicPem);
    expect(before.ok).toBe(false);
    expect(before.stderr).toContain('A signature was required, but no signature exists');
    // kiln verify is as strict: it names the arch manifest without a signature.
    const ref = parseReference(`${old.host}/${repository}:latest`);
    await expect(verifyImage(old, ref, signer.publicKey)).rejects.toThrow(
      new RegExp(
        `arch manifest ${images[0]!.manifest.digest} \\(linux/amd64\\) of sha256:[0-9a-f]{64}: ${repository}@${images[0]!.manifest.digest} is not signed`,
      ),
    );

    // The same publish again with today's kiln: the exact tag is set, yet the arch `.sig`s are missing.
    const client = registry();
    const again = await publishImage({ client, repository, request, archResults, signer });
    expect(again.changed).toBe(true);
    const after = await skopeoCopy(client.host, repository, 'latest', signer.publicPem);
    expect(after.stderr).toBe('');
    expect(after.ok).toBe(true);
    const report = await verifyImage(client, ref, signer.publicKey);
    expect(report.instances.map((i) => i.platform)).toEqual(['linux/amd64', 'linux/arm64/v8']);
  });
});
