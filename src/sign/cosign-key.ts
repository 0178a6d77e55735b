import { randomBytes, scryptSync } from 'node:crypto';
import nacl from 'tweetnacl';
import { z } from 'zod';
import { PermanentError } from '../errors.ts';

/** PEM types cosign writes for its password-protected private keys (new name first). */
export const encryptedKeyPemTypes = [
  'ENCRYPTED SIGSTORE PRIVATE KEY',
  'ENCRYPTED COSIGN PRIVATE KEY',
] as const;

/**
 * The body of cosign's encrypted key (go-securesystemslib's `encrypted` package): the PKCS#8 DER
 * key sealed with NaCl secretbox under a key derived by scrypt from the password.
 */
const sealedSchema = z.object({
  kdf: z.object({
    name: z.literal('scrypt'),
    params: z.object({ N: z.number().int(), r: z.number().int(), p: z.number().int() }),
    salt: z.string(),
  }),
  cipher: z.object({ name: z.literal('nacl/secretbox'), nonce: z.string() }),
  ciphertext: z.string(),
});

/** scrypt cost parameters cosign uses today (N=2^16, r=8, p=1); the older 2^15 is still read. */
const standard = { N: 65536, r: 8, p: 1 };
const accepted = new Set(['32768/8/1', '65536/8/1', '131072/8/1']);

function deriveKey(
  password: string,
  salt: Buffer,
  params: { N: number; r: number; p: number },
): Uint8Array {
  // scrypt needs 128·N·r bytes; Node's default memory cap (32 MiB) is below cosign's cost.
  return scryptSync(Buffer.from(password, 'utf8'), salt, 32, {
    ...params,
    maxmem: 256 * params.N * params.r + 1024 * 1024,
  });
}

/** Seals bytes (a PKCS#8 DER key) the way cosign does; returns the JSON that goes inside the PEM. */
export function sealPrivateKey(plaintext: Uint8Array, password: string): Buffer {
  const salt = randomBytes(32);
  const nonce = randomBytes(nacl.secretbox.nonceLength);
  const key = deriveKey(password, salt, standard);
  const ciphertext = nacl.secretbox(plaintext, nonce, key);
  const sealed = {
    kdf: { name: 'scrypt', params: standard, salt: salt.toString('base64') },
    cipher: { name: 'nacl/secretbox', nonce: nonce.toString('base64') },
    ciphertext: Buffer.from(ciphertext).toString('base64'),
  } satisfies z.infer<typeof sealedSchema>;
  return Buffer.from(JSON.stringify(sealed));
}

/**
 * Opens cosign's sealed key JSON with the password. A wrong password and a tampered file look
 * the same to secretbox; the error says so without echoing the password.
 */
export function openPrivateKey(sealedJson: Uint8Array, password: string, source: string): Buffer {
  let sealed: z.infer<typeof sealedSchema>;
  try {
    sealed = sealedSchema.parse(JSON.parse(Buffer.from(sealedJson).toString('utf8')));
  } catch (error) {
    throw new PermanentError(`reading signing key ${source}: not a cosign encrypted key`, {
      cause: error,
    });
  }
  const { N, r, p } = sealed.kdf.params;
  if (!accepted.has(`${N}/${r}/${p}`)) {
    throw new PermanentError(
      `reading signing key ${source}: unsupported scrypt parameters N=${N} r=${r} p=${p}`,
    );
  }
  const key = deriveKey(password, Buffer.from(sealed.kdf.salt, 'base64'), { N, r, p });
  const opened = nacl.secretbox.open(
    Buffer.from(sealed.ciphertext, 'base64'),
    Buffer.from(sealed.cipher.nonce, 'base64'),
    key,
  );
  if (!opened) {
    throw new PermanentError(
      `reading signing key ${source}: wrong password (KILN_SIGNING_KEY_PASSWORD) or damaged key file`,
    );
  }
  return Buffer.from(opened);
}
