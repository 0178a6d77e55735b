import { mkdtemp, readFile, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeKeyPair } from '../cli/keygen.ts';
import { loadPublicKey } from './keys.ts';
import { signerFromConfig, verifySignature } from './signer.ts';

describe('signing keys from configuration', () => {
  it('kiln keygen writes a pair that KILN_SIGNING_KEY (path or inline PEM) loads, with the password when sealed', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'kiln-keygen-'));
    const password = 'hunter2-but-longer';
    const { keyFile, pubFile } = await writeKeyPair(path.join(dir, 'cosign'), password);
    expect((await stat(keyFile)).mode & 0o777).toBe(0o600);
    expect(await readFile(keyFile, 'utf8')).toContain('ENCRYPTED SIGSTORE PRIVATE KEY');
    await expect(writeKeyPair(path.join(dir, 'cosign'), password)).rejects.toThrow(/exists/);

    const signer = await signerFromConfig({ signingKey: keyFile, signingKeyPassword: password });
    const pub = loadPublicKey(await readFile(pubFile, 'utf8'), pubFile);
    expect(verifySignature(pub, Buffer.from('m'), signer!.sign(Buffer.from('m')))).toBe(true);

    const inline = await readFile(keyFile, 'utf8');
    expect(
      (await signerFromConfig({ signingKey: inline, signingKeyPassword: password }))?.publicPem,
    ).toBe(signer?.publicPem);
    const error = await signerFromConfig({
      signingKey: inline,
      signingKeyPassword: 'wrong-password-x',
    }).then(
      () => undefined,
      (e: unknown) => (e instanceof Error ? e : undefined),
    );
    expect(error?.message).toMatch(/reading signing key KILN_SIGNING_KEY: wrong password/);
    expect(error?.message).not.toContain('BEGIN');
    expect(error?.message).not.toContain('wrong-password-x');

    const plain = await writeKeyPair(path.join(dir, 'plain'), undefined);
    expect(await readFile(plain.keyFile, 'utf8')).toContain('-----BEGIN PRIVATE KEY-----');
    expect(
      await signerFromConfig({ signingKey: plain.keyFile, signingKeyPassword: undefined }),
    ).toBeDefined();
    expect(
      await signerFromConfig({ signingKey: undefined, signingKeyPassword: undefined }),
    ).toBeUndefined();
  });
});
