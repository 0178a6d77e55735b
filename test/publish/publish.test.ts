import { describe, expect, it } from 'vitest';
import { PermanentError } from '../../src/errors.ts';
import { parseIndex, parseManifest } from '../../src/oci/manifest-schema.ts';
import { Annotation } from '../../src/oci/media-types.ts';
import { parseReference } from '../../src/oci/reference.ts';
import {
  publishImage,
  publishLayout,
  publishSteps,
  readPublishedState,
  type PublishStep,
} from '../../src/publish/index.ts';
import {
  attestationTag,
  isSupplementTag,
  referrersTag,
  signatureTag,
} from '../../src/sign/cosign-objects.ts';
import { verifyImage } from '../../src/sign/verify.ts';
import { uniqueName } from '../helpers/stack.ts';
import {
  makeLayout,
  makeRequest,
  newSigner,
  packagesFor,
  pushArchs,
  registry,
} from './fixtures.ts';

const tags = (v: string, extra: string[] = []) => [`${v}-r0`, v, ...extra];

async function publishOnce(
  repository: string,
  version: string,
  tagList: string[],
  signer = newSigner(),
  onStep?: (s: PublishStep) => void,
) {
  const client = registry();
  const { layoutDir, images } = await makeLayout(['amd64', 'arm64'], `app-${version}`);
  const archResults = await pushArchs(client, repository, layoutDir, images, version);
  const request = makeRequest(repository, version, tagList);
  const run = () =>
    publishImage({
      client,
      repository,
      request,
      archResults,
      signer,
      ...(onStep ? { onStep } : {}),
    });
  return { client, signer, request, archResults, run };
}

async function layerCounts(repository: string, digest: string) {
  const client = registry();
  const sig = await client.getManifest(repository, signatureTag(digest));
  const att = await client.getManifest(repository, attestationTag(digest));
  const refs = await client.getManifest(repository, referrersTag(digest));
  const index = await client.getManifest(repository, digest);
  // cosign sign --recursive: each arch manifest has its own `.sig`, one layer, like the index.
  const archSignatures = await Promise.all(
    parseIndex(index!.bytes, 'index').manifests.map(async (m) => {
      const archSig = await client.getManifest(repository, signatureTag(m.digest));
      return archSig ? parseManifest(archSig.bytes, 'arch sig').layers.length : 0;
    }),
  );
  return {
    signatures: sig ? parseManifest(sig.bytes, 'sig').layers.length : 0,
    archSignatures,
    attestations: att ? parseManifest(att.bytes, 'att').layers.length : 0,
    referrers: refs ? parseIndex(refs.bytes, 'refs').manifests.length : 0,
  };
}

describe('publish', () => {
  it('pushes, signs, attests and tags; kiln verify accepts it; the registry state reads back', async () => {
    const repository = uniqueName('kiln/python');
    const { client, signer, run } = await publishOnce(
      repository,
      '3.12.7',
      tags('3.12.7', ['3.12', '3', 'latest']),
    );
    const result = await run();
    expect(result.signed).toBe(true);
    expect(result.changed).toBe(true);
    expect(result.tags).toEqual(['3.12.7-r0', '3.12.7', '3.12', '3', 'latest']);
    expect(result.attestations).toEqual([
      'https://spdx.dev/Document',
      'https://slsa.dev/provenance/v1',
      'https://cyclonedx.org/bom',
    ]);

    const report = await verifyImage(
      client,
      parseReference(`${client.host}/${repository}:latest`),
      signer.publicKey,
    );
    expect(report.digest).toBe(result.digest);
    expect(report.signatures).toBe(1);
    expect(report.sbom).toEqual({ format: 'SPDX', version: 'SPDX-2.3', packages: 6 });
    expect(report.cyclonedx).toEqual({ components: 6 });
    expect(report.provenance.upstreamVersion).toBe('3.12.7');
    expect(report.bundles).toBe(3);

    const index = await client.getManifest(repository, result.digest);
    const annotations = parseIndex(index!.bytes, 'index').annotations ?? {};
    expect(annotations[Annotation.source]).toBe('https://example.org/python/cpython');
    expect(annotations[Annotation.version]).toBe('3.12.7');
    expect(annotations[Annotation.revision]).toBe('v3.12.7');
    expect(annotations[Annotation.created]).toBe('2025-01-01T00:00:00Z');
    expect(annotations[Annotation.inputsDigest]).toMatch(/^sha256:/);

    const state = await readPublishedState(client, repository);
    expect(state).toEqual([
      {
        version: '3.12.7',
        epoch: 0,
        inputsDigest: annotations[Annotation.inputsDigest],
        digest: result.digest,
        tags: ['3', '3.12', '3.12.7', '3.12.7-r0', 'latest'],
      },
    ]);
  });

  it('re-publishing the unchanged image sends nothing but HEAD requests: nothing pushed, nothing re-signed', async () => {
    const repository = uniqueName('kiln/python');
    const { client, run } = await publishOnce(repository, '3.12.7', tags('3.12.7', ['latest']));
    const first = await run();
    const before = { ...client.stats.requests };
    const again = await run();
    expect(again.changed).toBe(false);
    expect(again.digest).toBe(first.digest);
    const delta = Object.fromEntries(
      Object.entries(client.stats.requests)
        .map(([m, n]) => [m, n - (before[m] ?? 0)])
        .filter(([, n]) => n !== 0),
    );
    expect(Object.keys(delta)).toEqual(['HEAD']);
    expect(await layerCounts(repository, first.digest)).toEqual({
      signatures: 1,
      archSignatures: [1, 1],
      attestations: 3,
      referrers: 3,
    });
  });

  it('publishLayout (kiln build --push) pushes a whole layout and publishes it the same way', async () => {
    const repository = uniqueName('kiln/layout');
    const client = registry();
    const signer = newSigner();
    const { layoutDir, images } = await makeLayout(['amd64', 'arm64'], 'layout');
    const result = await publishLayout({
      client,
      repository,
      request: makeRequest(repository, '7.1.0', ['7.1.0-r0', 'latest']),
      signer,
      output: {
        layoutDir,
        index: images[0]!.manifest,
        archs: images.map((i) => ({
          arch: i.arch,
          manifest: i.manifest,
          packages: packagesFor(i.arch, '7.1.0'),
          tests: [],
        })),
        materials: [],
      },
      builder: { id: 'debian', version: '1' },
      startedAt: '2025-01-02T00:00:00Z',
      finishedAt: '2025-01-02T00:01:00Z',
    });
    const report = await verifyImage(
      client,
      parseReference(`${client.host}/${repository}:latest`),
      signer.publicKey,
    );
    expect(report.digest).toBe(result.digest);
    expect(report.sbom.packages).toBe(6);
  });

  it('refuses to publish without a signing key unless told to publish unsigned', async () => {
    const repository = uniqueName('kiln/python');
    const { client, request, archResults } = await publishOnce(repository, '1.0.0', tags('1.0.0'));
    await expect(
      publishImage({ client, repository, request, archResults, signer: undefined }),
    ).rejects.toThrow(PermanentError);
    expect(await client.listTags(repository)).toEqual([]);
    const unsigned = await publishImage({
      client,
      repository,
      request,
      archResults,
      signer: undefined,
      allowUnsigned: true,
    });
    expect(unsigned.signed).toBe(false);
    await expect(
      verifyImage(
        client,
        parseReference(`${client.host}/${repository}:1.0.0`),
        newSigner().publicKey,
      ),
    ).rejects.toThrow(/not signed/);
  });

  it('a backport never moves latest (or the major) backwards, but moves its own minor', async () => {
    const repository = uniqueName('kiln/python');
    const newer = await publishOnce(repository, '1.2.0', tags('1.2.0', ['1.2', '1', 'latest']));
    const n = await newer.run();
    // The backport's request asks for every floating tag, as a naive tag policy would: the registry check holds them.
    const backport = await publishOnce(
      repository,
      '1.1.9',
      tags('1.1.9', ['1.1', '1', 'latest']),
      newer.signer,
    );
    const b = await backport.run();
    expect(b.tags).toEqual(['1.1.9-r0', '1.1.9', '1.1']);
    const client = registry();
    expect((await client.headManifest(repository, 'latest'))?.digest).toBe(n.digest);
    expect((await client.headManifest(repository, '1'))?.digest).toBe(n.digest);
    expect((await client.headManifest(repository, '1.1'))?.digest).toBe(b.digest);
    // A nano update of the newer version (epoch 1) does move them.
    const nano = await publishOnce(
      repository,
      '1.2.0',
      ['1.2.0-r1', '1.2.0', '1.2', '1', 'latest'],
      newer.signer,
    );
    nano.request.epoch = 1;
    nano.request.inputsDigest = `sha256:${'1'.repeat(64)}`;
    const r1 = await nano.run();
    expect(r1.tags).toEqual(['1.2.0-r1', '1.2.0', '1.2', '1', 'latest']);
    expect((await client.headManifest(repository, 'latest'))?.digest).toBe(r1.digest);
  });

  it.each(publishSteps)(
    'a crash after step "%s" leaves no unsigned tag, and a re-run finishes with no duplicates',
    async (crashAt) => {
      const repository = uniqueName('kiln/crash');
      let crash = true;
      const { client, signer, run } = await publishOnce(
        repository,
        '2.0.0',
        tags('2.0.0', ['2', 'latest']),
        newSigner(),
        (step) => {
          if (crash && step === crashAt) throw new Error(`simulated crash after ${step}`);
        },
      );
      await expect(run()).rejects.toThrow(/simulated crash/);

      // Whatever is tagged now must already be signed and attested.
      for (const tag of (await client.listTags(repository)).filter((t) => !isSupplementTag(t))) {
        await expect(
          verifyImage(
            client,
            parseReference(`${client.host}/${repository}:${tag}`),
            signer.publicKey,
          ),
          `tag ${tag}`,
        ).resolves.toBeDefined();
      }

      crash = false;
      const result = await run();
      expect(result.tags).toEqual(['2.0.0-r0', '2.0.0', '2', 'latest']);
      expect(await layerCounts(repository, result.digest)).toEqual({
        signatures: 1,
        archSignatures: [1, 1],
        attestations: 3,
        referrers: 3,
      });
      const report = await verifyImage(
        client,
        parseReference(`${client.host}/${repository}:latest`),
        signer.publicKey,
      );
      expect(report.digest).toBe(result.digest);
      const state = await readPublishedState(client, repository);
      expect(state).toHaveLength(1);
    },
  );
});
