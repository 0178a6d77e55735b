import type * as openpgp from 'openpgp';
import { PermanentError } from '../errors.ts';
import { parseControl } from './control.ts';

/** One file an InRelease vouches for. */
export interface ReleaseFile {
  sha256: string;
  size: number;
}

/** A verified InRelease: only what was inside the signature. */
export interface Release {
  suite: string;
  codename: string | undefined;
  date: Date | undefined;
  validUntil: Date | undefined;
  acquireByHash: boolean;
  /**
   * `No-Support-for-Architecture-all: Packages`: the per-arch `Packages` indexes also list every
   * `Architecture: all` package, so clients do not fetch `binary-all` (Debian's archive says so).
   */
  allInArchIndexes: boolean;
  architectures: string[];
  components: string[];
  /** Path under `dists/<suite>/` → its SHA256 and size. */
  files: Map<string, ReleaseFile>;
}

/**
 * One line of the SHA256 table: hash, size (at most 15 digits, so it stays an exact integer:
 * Number.MAX_SAFE_INTEGER has 16), name. A regular expression rather than a zod tuple per line:
 * an InRelease has ~700 lines and this runs on every load.
 */
const sha256Line = /^([a-f0-9]{64})\s+(\d{1,15})\s+(\S.*)$/;

/**
 * Verifies a cleartext-signed InRelease against a keyring and parses the signed text. At least
 * one signature must verify with a key in the keyring (as apt requires); the text that is parsed
 * is the one openpgp returns as signed, never the raw input.
 */
export async function verifyInRelease(
  text: string,
  keys: openpgp.PublicKey[],
  what: string,
): Promise<string> {
  const pgp = await import('openpgp');
  let message: openpgp.CleartextMessage;
  try {
    message = await pgp.readCleartextMessage({ cleartextMessage: text });
  } catch (cause) {
    throw new PermanentError(`InRelease of ${what} is not a cleartext-signed OpenPGP message`, {
      cause,
    });
  }
  const result = await pgp.verify({ message, verificationKeys: keys, format: 'utf8' });
  const failures: string[] = [];
  for (const signature of result.signatures) {
    try {
      await signature.verified;
      return result.data;
    } catch (cause) {
      failures.push(
        `key ${signature.keyID.toHex()}: ${cause instanceof Error ? cause.message : String(cause)}`,
      );
    }
  }
  throw new PermanentError(
    `InRelease of ${what}: bad OpenPGP signature, no signature verifies against the keyring (${failures.join('; ') || 'no signatures'})`,
  );
}

/** Parses the signed text of a Release file. */
export function parseRelease(signedText: string, what: string, now = new Date()): Release {
  const paragraph = parseControl(signedText)[0];
  if (!paragraph) throw new PermanentError(`InRelease of ${what} has no fields`);
  const files = new Map<string, ReleaseFile>();
  for (const line of (paragraph.get('sha256') ?? '').split('\n')) {
    if (line.trim() === '') continue;
    const parsed = sha256Line.exec(line.trim());
    const [, sha256, size, name] = parsed ?? [];
    if (!sha256 || !size || !name || /\s/.test(name))
      throw new PermanentError(
        `InRelease of ${what}: malformed SHA256 line ${JSON.stringify(line)}`,
      );
    files.set(name, { sha256, size: Number(size) });
  }
  if (files.size === 0) throw new PermanentError(`InRelease of ${what} lists no SHA256 sums`);
  const date = parseDate(paragraph.get('date'));
  const validUntil = parseDate(paragraph.get('valid-until'));
  // apt refuses an expired Release: an attacker could otherwise replay an old, vulnerable archive.
  if (validUntil && validUntil.getTime() < now.getTime()) {
    throw new PermanentError(
      `InRelease of ${what} expired at ${validUntil.toISOString()} (Valid-Until): refusing a possibly replayed archive`,
    );
  }
  return {
    suite: paragraph.get('suite') ?? '',
    codename: paragraph.get('codename'),
    date,
    validUntil,
    acquireByHash: paragraph.get('acquire-by-hash') === 'yes',
    allInArchIndexes: (paragraph.get('no-support-for-architecture-all') ?? '')
      .split(/\s+/)
      .includes('Packages'),
    architectures: (paragraph.get('architectures') ?? '').split(/\s+/).filter(Boolean),
    components: (paragraph.get('components') ?? '').split(/\s+/).filter(Boolean),
    files,
  };
}

function parseDate(value: string | undefined): Date | undefined {
  if (!value) return undefined;
  const d = new Date(value);
  return Number.isNaN(d.getTime()) ? undefined : d;
}

/** apt's check that the archive is the suite asked for, not another signed one swapped in. */
export function checkSuite(release: Release, suite: string, what: string): void {
  if (release.suite !== suite && release.codename !== suite) {
    throw new PermanentError(
      `InRelease of ${what}: it is for suite ${JSON.stringify(release.suite)} (codename ${JSON.stringify(release.codename)}), not ${JSON.stringify(suite)}`,
    );
  }
}
