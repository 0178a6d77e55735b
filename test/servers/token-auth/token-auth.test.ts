import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PermanentError } from '../../../src/errors.ts';
import { createLogger } from '../../../src/log.ts';
import { sha256Digest } from '../../../src/oci/digest.ts';
import { parseReference } from '../../../src/oci/reference.ts';
import { RegistryClient } from '../../../src/oci/registry-client.ts';
import { registryClientFor } from '../../../src/oci/registry-from-config.ts';
import { publishImage } from '../../../src/publish/index.ts';
import { verifyImage } from '../../../src/sign/verify.ts';
import { makeLayout, makeRequest, newSigner, pushArchs } from '../../publish/fixtures.ts';
import { startTokenAuthRegistry, type TokenAuthStack } from './server.ts';

const password = 's3cret-registry-password';
let stack: TokenAuthStack;
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'kiln-token-auth-'));
  stack = await startTokenAuthRegistry({ dataDir: dir, users: { kiln: password } });
});

afterAll(async () => {
  await stack?.stop();
  await rm(dir, { recursive: true, force: true });
});

describe('bearer token auth against docker-registry configured for token auth', () => {
  it('answers the WWW-Authenticate challenge, publishes and verifies with scoped tokens', async () => {
    const client = await registryClientFor(stack.registry.host, {
      registryAuth: { username: 'kiln', password },
      insecureRegistries: [],
    });
    const repository = 'kiln/tokened';
    const signer = newSigner();
    const { layoutDir, images } = await makeLayout(['amd64'], 'token');
    const archResults = await pushArchs(client, repository, layoutDir, images, '1.0.0');
    const lines: string[] = [];
    const log = createLogger(
      { level: 'trace' },
      { write: (line: string) => void lines.push(line) },
    );
    const result = await publishImage({
      log,
      client,
      repository,
      request: makeRequest(repository, '1.0.0', ['1.0.0-r0', 'latest']),
      archResults,
      signer,
    });
    const report = await verifyImage(
      client,
      parseReference(`${stack.registry.host}/${repository}:latest`),
      signer.publicKey,
    );
    expect(report.digest).toBe(result.digest);
    expect(lines.join('')).toContain('published');
    expect(lines.join('')).not.toContain(password);
    expect(stack.requests.every((r) => r.user === 'kiln')).toBe(true);
    expect(stack.requests.map((r) => r.scopes.join(' '))).toContain(
      `repository:${repository}:pull,push`,
    );
    // Tokens are cached per scope: far fewer token requests than registry requests.
    const registryRequests = Object.values(client.stats.requests).reduce((a, b) => a + b, 0);
    expect(stack.requests.length).toBeLessThan(registryRequests / 5);
  });

  it('asks for pull on the source repository when mounting', async () => {
    const client = new RegistryClient({
      host: stack.registry.host,
      credentials: { username: 'kiln', password },
    });
    const data = Buffer.from('mount me');
    await client.pushBlob('kiln/base', sha256Digest(data), { data });
    expect(
      await client.pushBlob('kiln/child', sha256Digest(data), { data }, { mountFrom: 'kiln/base' }),
    ).toBe('mounted');
    expect(stack.requests.at(-1)?.scopes).toEqual([
      'repository:kiln/child:pull,push',
      'repository:kiln/base:pull',
    ]);
  });

  it('anonymous access is refused with advice; a wrong password names the user but never the password', async () => {
    const anonymous = new RegistryClient({ host: stack.registry.host });
    await expect(anonymous.listTags('kiln/tokened')).rejects.toThrow(
      /refused anonymous access \(set KILN_REGISTRY_USERNAME/,
    );

    const wrong = 'not-the-right-password';
    const client = new RegistryClient({
      host: stack.registry.host,
      credentials: { username: 'kiln', password: wrong },
    });
    const error = await client.listTags('kiln/tokened').then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(PermanentError);
    expect(String((error as Error).message)).toMatch(/refused the credentials of user kiln/);
    expect(JSON.stringify(error, Object.getOwnPropertyNames(error))).not.toContain(wrong);
  });
});
