import { PermanentError } from '../../errors.ts';
import { httpGet, parseJson } from '../http.ts';
import type { SourceContext } from '../types.ts';
import { tokenResponse } from './schema.ts';

/** Parses `Bearer realm="…",service="…",scope="…"` into its parameters. */
export function parseChallenge(header: string): { scheme: string; params: Record<string, string> } {
  const [scheme = '', ...rest] = header.trim().split(/\s+/);
  const params: Record<string, string> = {};
  for (const m of rest.join(' ').matchAll(/([a-zA-Z_]+)="([^"]*)"/g)) {
    if (m[1]) params[m[1].toLowerCase()] = m[2] ?? '';
  }
  return { scheme: scheme.toLowerCase(), params };
}

/**
 * Gets a pull token for a repository from the realm named in a 401's challenge (anonymous, or
 * with kiln's registry credentials when the registry is kiln's own).
 */
export async function fetchToken(
  ctx: SourceContext,
  challenge: string,
  repository: string,
  host: string,
): Promise<string> {
  const { scheme, params } = parseChallenge(challenge);
  if (scheme !== 'bearer' || !params.realm)
    throw new PermanentError(
      `OCI registry ${host}: unsupported authentication challenge (${scheme || 'none'})`,
    );
  const url = new URL(params.realm);
  if (params.service) url.searchParams.set('service', params.service);
  url.searchParams.set('scope', params.scope ?? `repository:${repository}:pull`);
  const headers: Record<string, string> = {};
  const auth = ctx.config.registryAuth;
  if (auth && ctx.config.registry?.split('/')[0] === host) {
    headers.authorization = `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}`;
  }
  const response = await httpGet(ctx, url.toString(), {
    what: `a pull token for ${host}/${repository}`,
    headers,
  });
  if (!('body' in response)) throw new PermanentError(`token server for ${host}: unexpected 304`);
  const body = parseJson(response.body, tokenResponse, `token server for ${host}`);
  const token = body.token ?? body.access_token;
  if (!token) throw new PermanentError(`token server for ${host}: no token in the answer`);
  return token;
}
