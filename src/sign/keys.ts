import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
} from 'node:crypto';
import { PermanentError } from '../errors.ts';
import { encryptedKeyPemTypes, openPrivateKey, sealPrivateKey } from './cosign-key.ts';

export interface PemKeyPair {
  /** SPKI `PUBLIC KEY` PEM: what `kiln verify --key` and `cosign verify --key` take. */
  publicPem: string;
  /** PKCS#8 `PRIVATE KEY` PEM, or cosign's `ENCRYPTED SIGSTORE PRIVATE KEY` when a password is given. */
  privatePem: string;
}

/** A new ECDSA P-256 key pair, the kind cosign makes; sealed cosign-style when `password` is set. */
export function generateKeyPair(password?: string): PemKeyPair {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const publicPem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
  const der = privateKey.export({ type: 'pkcs8', format: 'der' });
  const privatePem = password
    ? pem(encryptedKeyPemTypes[0], sealPrivateKey(der, password))
    : privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  return { publicPem, privatePem };
}

/**
 * Reads a private key: PKCS#8 `PRIVATE KEY`, SEC1 `EC PRIVATE KEY`, or cosign's encrypted
 * formats (which need `password`). Only ECDSA P-256 is accepted: the scheme cosign verifies.
 * `source` names the key in errors (a path or variable name), never its content.
 */
export function loadPrivateKey(
  text: string,
  password: string | undefined,
  source: string,
): KeyObject {
  const block = parsePem(text, source);
  let key: KeyObject;
  if ((encryptedKeyPemTypes as readonly string[]).includes(block.type)) {
    if (password === undefined) {
      throw new PermanentError(
        `reading signing key ${source}: it is encrypted; set KILN_SIGNING_KEY_PASSWORD`,
      );
    }
    const der = openPrivateKey(block.bytes, password, source);
    key = importDer(() => createPrivateKey({ key: der, format: 'der', type: 'pkcs8' }), source);
  } else if (block.type === 'PRIVATE KEY' || block.type === 'EC PRIVATE KEY') {
    key = importDer(
      () =>
        createPrivateKey({
          key: block.bytes,
          format: 'der',
          type: block.type === 'PRIVATE KEY' ? 'pkcs8' : 'sec1',
        }),
      source,
    );
  } else if (block.type === 'ENCRYPTED PRIVATE KEY') {
    if (password === undefined)
      throw new PermanentError(
        `reading signing key ${source}: it is encrypted; set KILN_SIGNING_KEY_PASSWORD`,
      );
    key = importDer(
      () => createPrivateKey({ key: text, format: 'pem', passphrase: password }),
      source,
    );
  } else {
    throw new PermanentError(
      `reading signing key ${source}: unsupported PEM type ${JSON.stringify(block.type)}`,
    );
  }
  checkP256(key, source);
  return key;
}

/** Reads an SPKI `PUBLIC KEY` PEM (what cosign's `.pub` files hold). */
export function loadPublicKey(text: string, source: string): KeyObject {
  const block = parsePem(text, source);
  if (block.type !== 'PUBLIC KEY')
    throw new PermanentError(
      `reading public key ${source}: expected a PUBLIC KEY PEM, found ${block.type}`,
    );
  const key = importDer(
    () => createPublicKey({ key: block.bytes, format: 'der', type: 'spki' }),
    source,
  );
  checkP256(key, source);
  return key;
}

/**
 * The hex SHA-256 of the key's SPKI DER: the public-key hint kiln writes into its Sigstore
 * bundles, so a verifier can tell a bundle that claims this key from another signer's.
 */
export function publicKeyHint(key: KeyObject): string {
  const pub = key.type === 'private' ? createPublicKey(key) : key;
  return createHash('sha256')
    .update(pub.export({ type: 'spki', format: 'der' }))
    .digest('hex');
}

export function publicPemOf(key: KeyObject): string {
  const pub = key.type === 'private' ? createPublicKey(key) : key;
  return pub.export({ type: 'spki', format: 'pem' }).toString();
}

function checkP256(key: KeyObject, source: string): void {
  if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
    throw new PermanentError(
      `key ${source}: only ECDSA P-256 keys are supported (cosign's default)`,
    );
  }
}

function importDer(make: () => KeyObject, source: string): KeyObject {
  try {
    return make();
  } catch (error) {
    // Node's message may quote key material; keep only its code.
    const code = (error as { code?: string }).code ?? 'invalid key';
    throw new PermanentError(`reading key ${source}: not a valid key (${code})`);
  }
}

interface PemBlock {
  type: string;
  bytes: Buffer;
}

/** The first PEM block of a text (RFC 7468). */
export function parsePem(text: string, source: string): PemBlock {
  const m = /-----BEGIN ([A-Z0-9 ]+)-----\r?\n([\s\S]*?)-----END \1-----/.exec(text);
  if (!m?.[1] || m[2] === undefined)
    throw new PermanentError(`reading key ${source}: no PEM block found`);
  const body = m[2]
    .split(/\r?\n/)
    .filter((line) => !line.includes(':'))
    .join('');
  return { type: m[1], bytes: Buffer.from(body, 'base64') };
}

function pem(type: string, bytes: Buffer): string {
  const lines = bytes.toString('base64').match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${type}-----\n${lines.join('\n')}\n-----END ${type}-----\n`;
}
