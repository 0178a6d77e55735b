import { readFile } from 'node:fs/promises';
import type * as openpgp from 'openpgp';
import { PermanentError } from '../errors.ts';

/** The keyring apt uses when a source names none (debian-archive-keyring's file). */
export const defaultKeyringPath = '/usr/share/keyrings/debian-archive-keyring.gpg';

/**
 * Reads OpenPGP public keys from a keyring: a path to a binary (`.gpg`) or armored (`.asc`)
 * file, or an armored key block inline (apt's Signed-By allows both).
 */
export async function loadKeyring(source: string): Promise<openpgp.PublicKey[]> {
  const trimmed = source.trim();
  // Loaded on first use: a warm build whose InReleases were verified before never needs it.
  const pgp = await import('openpgp');
  try {
    if (trimmed.startsWith('-----BEGIN PGP PUBLIC KEY BLOCK-----')) {
      return await pgp.readKeys({ armoredKeys: trimmed });
    }
    const bytes = await readFile(trimmed);
    const head = bytes.subarray(0, 64).toString('latin1');
    if (head.includes('-----BEGIN PGP'))
      return await pgp.readKeys({ armoredKeys: bytes.toString('utf8') });
    return await pgp.readKeys({ binaryKeys: new Uint8Array(bytes) });
  } catch (cause) {
    const label = trimmed.startsWith('-----') ? 'inline Signed-By key block' : trimmed;
    throw new PermanentError(`reading the Debian archive keyring ${label}`, { cause });
  }
}
