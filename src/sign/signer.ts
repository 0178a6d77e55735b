import { createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { Config } from '../config.ts';
import { PermanentError } from '../errors.ts';
import { loadPrivateKey, publicPemOf } from './keys.ts';

/** Signs bytes with ECDSA P-256 over SHA-256, ASN.1 DER signatures: what cosign makes and checks. */
export interface Signer {
  sign(data: Uint8Array): Buffer;
  publicKey: KeyObject;
  publicPem: string;
}

export function createSigner(privateKey: KeyObject): Signer {
  const publicKey = createPublicKey(privateKey);
  return {
    sign: (data) => sign('sha256', data, { key: privateKey, dsaEncoding: 'der' }),
    publicKey,
    publicPem: publicPemOf(publicKey),
  };
}

/** True when `signature` (DER) over `data` verifies with `publicKey`; false for garbage, never throws. */
export function verifySignature(
  publicKey: KeyObject,
  data: Uint8Array,
  signature: Uint8Array,
): boolean {
  try {
    return verify('sha256', data, { key: publicKey, dsaEncoding: 'der' }, signature);
  } catch {
    return false;
  }
}

/**
 * The signer from KILN_SIGNING_KEY (a path to a PEM file, or the PEM itself) and
 * KILN_SIGNING_KEY_PASSWORD; undefined when no key is configured.
 */
export async function signerFromConfig(
  config: Pick<Config, 'signingKey' | 'signingKeyPassword'>,
): Promise<Signer | undefined> {
  const value = config.signingKey;
  if (!value) return undefined;
  const inline = value.includes('-----BEGIN');
  let text = value;
  if (!inline) {
    try {
      text = await readFile(value, 'utf8');
    } catch (error) {
      throw new PermanentError(`reading signing key ${value}: cannot read the file`, {
        cause: error,
      });
    }
  }
  return createSigner(
    loadPrivateKey(text, config.signingKeyPassword, inline ? 'KILN_SIGNING_KEY' : value),
  );
}
