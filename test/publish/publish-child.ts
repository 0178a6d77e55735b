/*
 * A publish in its own process, for the kill test: prints `step:<name>` after each publish step
 * and, at the step named in argv, stops there and waits to be killed with SIGKILL.
 */
import { publishImage } from '../../src/publish/index.ts';
import { RegistryClient } from '../../src/oci/registry-client.ts';
import { loadPrivateKey } from '../../src/sign/keys.ts';
import { createSigner } from '../../src/sign/signer.ts';
import { makeLayout, makeRequest, pushArchs } from './fixtures.ts';

const [host, repository, killAt] = process.argv.slice(2);
if (!host || !repository || !killAt)
  throw new Error('usage: publish-child <host> <repository> <step>');
const signer = createSigner(
  loadPrivateKey(process.env.KILN_TEST_KEY ?? '', undefined, 'KILN_TEST_KEY'),
);
const client = new RegistryClient({ host });
const { layoutDir, images } = await makeLayout(['amd64', 'arm64'], 'killed');
const archResults = await pushArchs(client, repository, layoutDir, images, '5.0.0');
await publishImage({
  client,
  repository,
  request: makeRequest(repository, '5.0.0', ['5.0.0-r0', '5.0.0', 'latest']),
  archResults,
  signer,
  onStep: async (step) => {
    process.stdout.write(`step:${step}\n`);
    if (step === killAt) await new Promise(() => undefined);
  },
});
process.stdout.write('done\n');
