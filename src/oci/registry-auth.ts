import { z } from 'zod';
import { PermanentError, TransientError } from '../errors.ts';
import { httpStatusError } from '../http-errors.ts';
import type { RegistryCredentials } from './docker-config.ts';
import { Limits } from './limits.ts';
import { readCapped } from './read-body.ts';

/** A parsed `WWW-Authenticate` challenge. */
export interface AuthChallenge {
  scheme: 'basic' | 'bearer';
  params: Record<string, string>;
}

/**
 * Parses `Bearer realm="…",service="…",scope="…"` or `Basic realm="…"`. Parameter values may be
 * quoted (with `\"` escapes) or bare tokens, per RFC 7235.
 */
export function parseChallenge(header: string): AuthChallenge | undefined {
  const match = /^\s*(\w+)\s*(.*)$/s.exec(header);
  if (!match) return undefined;
  const scheme = (match[1] ?? '').toLowerCase();
  if (scheme !== 'basic' && scheme !== 'bearer') return undefined;
  const params: Record<string, string> = {};
  const re = /([\w-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))\s*,?\s*/gy;
  const rest = match[2] ?? '';
  re.lastIndex = 0;
  let m: RegExpExecArray | null;
  while ((m = re.exec(rest)) !== null && m[0].length > 0) {
    const key = (m[1] ?? '').toLowerCase();
    params[key] = m[2] !== undefined ? m[2].replace(/\\(.)/g, '$1') : (m[3] ?? '');
  }
  return { scheme, params };
}

const tokenResponse = z.object({
  token: z.string().optional(),
  access_token: z.string().optional(),
  expires_in: z.number().optional(),
});

export interface BearerToken {
  token: string;
  /** Epoch ms after which the token must be fetched again. */
  expiresAt: number;
}

/**
 * Fetches a bearer token from the challenge's realm (the Docker token protocol): GET with
 * `service` and one `scope` parameter per scope, basic credentials when we have them.
 */
export async function fetchBearerToken(
  challenge: AuthChallenge,
  scopes: string[],
  credentials: RegistryCredentials | undefined,
  fetchImpl: typeof fetch,
): Promise<BearerToken> {
  const realm = challenge.params.realm;
  if (!realm) throw new PermanentError('registry bearer challenge has no realm');
  let url: URL;
  try {
    url = new URL(realm);
  } catch (error) {
    throw new PermanentError(`registry bearer realm is not a URL: ${JSON.stringify(realm)}`, {
      cause: error,
    });
  }
  if (challenge.params.service) url.searchParams.set('service', challenge.params.service);
  for (const scope of scopes) url.searchParams.append('scope', scope);
  const headers: Record<string, string> = { accept: 'application/json' };
  if (credentials) headers.authorization = basicAuthorization(credentials);
  let res: Response;
  try {
    res = await fetchImpl(url, { headers });
  } catch (error) {
    throw new TransientError(`fetching a registry token from ${url.origin}`, { cause: error });
  }
  if (res.status === 401 || res.status === 403) {
    await res.body?.cancel();
    throw new PermanentError(
      `registry token server ${url.origin} refused ${credentials ? `the credentials of user ${credentials.username}` : 'anonymous access'} for ${scopes.join(' ')} (HTTP ${res.status})`,
    );
  }
  if (!res.ok) {
    await res.body?.cancel();
    throw httpStatusError({
      what: `fetching a registry token from ${url.origin}`,
      by: 'the token server',
      status: res.status,
      headers: res.headers,
    });
  }
  const body = await readCapped(res, {
    maxBytes: Limits.tokenBytes,
    what: `reading a registry token from ${url.origin}`,
  });
  const parsed = tokenResponse.safeParse(jsonOrUndefined(body));
  const token = parsed.success ? (parsed.data.token ?? parsed.data.access_token) : undefined;
  if (!token) throw new PermanentError(`registry token server ${url.origin} sent no token`);
  const lifetime = parsed.success ? (parsed.data.expires_in ?? 60) : 60;
  // Renew a little early so a token never expires between the check and the request.
  return { token, expiresAt: Date.now() + Math.max(10, lifetime - 10) * 1000 };
}

export function basicAuthorization(credentials: RegistryCredentials): string {
  return `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64')}`;
}

function jsonOrUndefined(bytes: Buffer): unknown {
  try {
    return JSON.parse(bytes.toString('utf8'));
  } catch {
    return undefined;
  }
}
