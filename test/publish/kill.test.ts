import { spawn } from 'node:child_process';
import { describe, it } from 'vitest';
import { parseIndex, parseManifest } from '../../src/oci/manifest-schema.ts';
import { parseReference } from '../../src/oci/reference.ts';
import { publishImage } from '../../src/publish/index.ts';
import {
  attestationTag,
  isSupplementTag,
  referrersTag,
  signatureTag,
} from '../../src/sign/cosign-objects.ts';
import { generateKeyPair, loadPrivateKey } from '../../src/sign/keys.ts';
import { createSigner } from '../../src/sign/signer.ts';
import { verifyImage } from '../../src/sign/verify.ts';
import { testRegistryHost, uniqueName } from '../helpers/stack.ts';
import { makeLayout, makeRequest, pushArchs, registry } from './fixtures.ts';

/** Runs a publish in a child process and SIGKILLs it once it reports `step`. */
function publishUntilKilled(repository: string, step: string, keyPem: string): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', 'test/publish/publish-child.ts', testRegistryHost(), repository, step],
      {
        env: { ...process.env, KILN_TEST_KEY: keyPem },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    const seen: string[] = [];
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdout.on('data', (d: Buffer) => {
      for (const line of d.toString().split('\n').filter(Boolean)) {
        seen.push(line);
        if (line === `step:${step}`) child.kill('SIGKILL');
      }
    });
    child.on('exit', (code, signal) =>
      signal === 'SIGKILL' ? resolve(seen) : reject(new Error(`child exited ${code}: ${stderr}`)),
    );
  });
}

describe('publish killed with SIGKILL mid-way', () => {
  it.concurrent.for(['signature', 'referrers'])(
    'after "%s": no unsigned tag, and a re-run completes without duplicates',
    async (step, { expect }) => {
      const pem = generateKeyPair().privatePem;
      const signer = createSigner(loadPrivateKey(pem, undefined, 'test'));
      const repository = uniqueName('kiln/killed');
      const seen = await publishUntilKilled(repository, step, pem);
      expect(seen.at(-1)).toBe(`step:${step}`);

      const client = registry();
      for (const tag of (await client.listTags(repository)).filter((t) => !isSupplementTag(t))) {
        await expect(
          verifyImage(
            client,
            parseReference(`${client.host}/${repository}:${tag}`),
            signer.publicKey,
          ),
        ).resolves.toBeDefined();
      }
      const { layoutDir, images } = await makeLayout(['amd64', 'arm64'], 'killed');
      const archResults = await pushArchs(client, repository, layoutDir, images, '5.0.0');
      const result = await publishImage({
        client,
        repository,
        request: makeRequest(repository, '5.0.0', ['5.0.0-r0', '5.0.0', 'latest']),
        archResults,
        signer,
      });
      expect(result.tags).toEqual(['5.0.0-r0', '5.0.0', 'latest']);
      const sig = await client.getManifest(repository, signatureTag(result.digest));
      const att = await client.getManifest(repository, attestationTag(result.digest));
      const refs = await client.getManifest(repository, referrersTag(result.digest));
      expect(parseManifest(sig!.bytes, 'sig').layers).toHaveLength(1);
      expect(parseManifest(att!.bytes, 'att').layers).toHaveLength(3);
      expect(parseIndex(refs!.bytes, 'refs').manifests).toHaveLength(3);
      await expect(
        verifyImage(
          client,
          parseReference(`${client.host}/${repository}:latest`),
          signer.publicKey,
        ),
      ).resolves.toMatchObject({ digest: result.digest });
    },
  );
});
