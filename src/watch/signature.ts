import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Checks GitHub's `X-Hub-Signature-256: sha256=<hex HMAC of the raw body>` in constant time.
 * Any other shape (missing, sha1 only, wrong length) is a mismatch.
 */
export function verifyGithubSignature(
  secret: string,
  body: Buffer,
  header: string | undefined,
): boolean {
  const m = /^sha256=([0-9a-f]{64})$/i.exec(header?.trim() ?? '');
  if (!m?.[1]) return false;
  const expected = createHmac('sha256', secret).update(body).digest();
  const given = Buffer.from(m[1], 'hex');
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** Compares a bearer token with the configured one in constant time. */
export function sameToken(given: string, expected: string): boolean {
  const a = createHmac('sha256', 'kiln').update(given).digest();
  const b = createHmac('sha256', 'kiln').update(expected).digest();
  return timingSafeEqual(a, b);
}
