import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';

/*
 * Verified InReleases on disk: `<cacheDir>/debian/verified/v1/<InRelease sha256>-<keyring sha256>`
 * holds the text openpgp returned as signed for those exact bytes and that exact keyring, so a
 * warm process neither loads openpgp nor checks a signature it has checked before. An InRelease
 * whose bytes changed has another sha256 and is verified again; so is one read through another
 * keyring. The text is parsed and checked (Valid-Until, suite) on every load, as before.
 *
 * A file starts with a header naming the format and the sha256 of the text after it: a damaged
 * or truncated file is refused and removed, and the signature verified again. Like the compact
 * indexes and the layer cache, the folder must be writable only by kiln.
 */

const header = 'kiln verified InRelease v1';

export function verifiedPath(cacheDir: string, inReleaseSha256: string, keyringSha256: string) {
  return path.join(cacheDir, 'debian', 'verified', 'v1', `${inReleaseSha256}-${keyringSha256}`);
}

const sha256 = (data: string | Buffer): string => createHash('sha256').update(data).digest('hex');

/** The signed text recorded for these bytes and this keyring, or undefined (absent or refused). */
export async function readVerified(
  cacheDir: string,
  inReleaseSha256: string,
  keyringSha256: string,
): Promise<string | undefined> {
  const file = verifiedPath(cacheDir, inReleaseSha256, keyringSha256);
  const data = await readFile(file, 'utf8').catch(() => undefined);
  if (data === undefined) return undefined;
  const newline = data.indexOf('\n');
  const text = data.slice(newline + 1);
  if (newline < 0 || data.slice(0, newline) !== `${header} ${sha256(text)}`) {
    await rm(file, { force: true });
    return undefined;
  }
  return text;
}

export async function writeVerified(
  cacheDir: string,
  inReleaseSha256: string,
  keyringSha256: string,
  text: string,
): Promise<void> {
  const target = verifiedPath(cacheDir, inReleaseSha256, keyringSha256);
  await mkdir(path.dirname(target), { recursive: true });
  const tmp = `${target}.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`;
  await writeFile(tmp, `${header} ${sha256(text)}\n${text}`);
  await rename(tmp, target);
}

/**
 * The sha256 of a keyring as apt's Signed-By names it: the file's bytes, or an inline armored
 * block's text. What a cached verification is keyed by, besides the InRelease's bytes.
 */
export async function keyringDigest(keyring: string): Promise<string> {
  const trimmed = keyring.trim();
  if (trimmed.startsWith('-----BEGIN PGP PUBLIC KEY BLOCK-----')) return sha256(trimmed);
  return sha256(await readFile(trimmed));
}
