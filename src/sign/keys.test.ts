import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { openPrivateKey } from './cosign-key.ts';
import { generateKeyPair, loadPrivateKey, loadPublicKey, parsePem } from './keys.ts';
import { createSigner, verifySignature } from './signer.ts';

/**
 * A published interoperability vector of go-securesystemslib's `encrypted` package (the code
 * cosign uses for its key files): scrypt N=2^15 + NaCl secretbox, password "supersecret".
 */
const goVector = {
  sealed:
    '{"kdf":{"name":"scrypt","params":{"N":32768,"r":8,"p":1},"salt":"N9a7x5JFGbrtB2uBR81jPwp0eiLR4A7FV3mjVAQrg1g="},"cipher":{"name":"nacl/secretbox","nonce":"2h8HxMmgRfuYdpswZBQaU3xJ1nkA/5Ik"},"ciphertext":"SEW6sUh0jf2wfdjJGPNS9+bkk2uB+Cxamf32zR8XkQ=="}',
  password: 'supersecret',
  plaintext: 'reallyimportant',
};

describe('keys', () => {
  it('opens a sealed blob made by the Go implementation cosign uses', () => {
    expect(
      openPrivateKey(Buffer.from(goVector.sealed), goVector.password, 'vector').toString(),
    ).toBe(goVector.plaintext);
  });

  it('makes PKCS#8 and SPKI PEMs that load back and sign', () => {
    const pair = generateKeyPair();
    expect(pair.privatePem).toContain('-----BEGIN PRIVATE KEY-----');
    expect(pair.publicPem).toContain('-----BEGIN PUBLIC KEY-----');
    const signer = createSigner(loadPrivateKey(pair.privatePem, undefined, 'k'));
    const pub = loadPublicKey(pair.publicPem, 'p');
    const sig = signer.sign(Buffer.from('x'));
    expect(sig[0]).toBe(0x30); // ASN.1 DER SEQUENCE, as cosign writes
    expect(verifySignature(pub, Buffer.from('x'), sig)).toBe(true);
    expect(verifySignature(pub, Buffer.from('y'), sig)).toBe(false);
  });

  it("writes and reads cosign's encrypted format with a password; the wrong one fails without echoing it", () => {
    const password = 'correct horse battery staple';
    const pair = generateKeyPair(password);
    expect(parsePem(pair.privatePem, 'k').type).toBe('ENCRYPTED SIGSTORE PRIVATE KEY');
    const sealed = JSON.parse(parsePem(pair.privatePem, 'k').bytes.toString()) as {
      kdf: { params: { N: number } };
    };
    expect(sealed.kdf.params.N).toBe(65536);
    const key = loadPrivateKey(pair.privatePem, password, 'cosign.key');
    expect(createSigner(key).publicPem).toBe(pair.publicPem);
    // The older PEM type cosign wrote is read the same way.
    const legacy = pair.privatePem.replaceAll(
      'ENCRYPTED SIGSTORE PRIVATE KEY',
      'ENCRYPTED COSIGN PRIVATE KEY',
    );
    expect(createSigner(loadPrivateKey(legacy, password, 'cosign.key')).publicPem).toBe(
      pair.publicPem,
    );

    const wrong = 'not-the-password-123';
    let message = '';
    try {
      loadPrivateKey(pair.privatePem, wrong, 'cosign.key');
    } catch (error) {
      message = String((error as Error).message);
    }
    expect(message).toMatch(/wrong password/);
    expect(message).not.toContain(wrong);
    expect(() => loadPrivateKey(pair.privatePem, undefined, 'cosign.key')).toThrow(
      /KILN_SIGNING_KEY_PASSWORD/,
    );
  });

  it('refuses keys cosign would not verify with (not P-256)', () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const pem = rsa.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    expect(() => loadPrivateKey(pem, undefined, 'rsa.key')).toThrow(/P-256/);
    const p384 = generateKeyPairSync('ec', { namedCurve: 'secp384r1' });
    expect(() =>
      loadPublicKey(p384.publicKey.export({ type: 'spki', format: 'pem' }).toString(), 'p384.pub'),
    ).toThrow(/P-256/);
  });

  it('never puts key material in errors', () => {
    const pair = generateKeyPair();
    const broken = pair.privatePem.replace(/\n[A-Za-z0-9+/]{10}/, '\nAAAAAAAAAA');
    try {
      loadPrivateKey(broken, undefined, 'broken.key');
    } catch (error) {
      const body = pair.privatePem.split('\n')[1] ?? '';
      expect(String((error as Error).message)).not.toContain(body.slice(0, 20));
    }
  });
});
