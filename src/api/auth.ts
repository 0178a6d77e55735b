import { createHmac, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';

/*
 * The dashboard's token check. A request is let in with `Authorization: Bearer <token>`, with
 * `?token=<token>` (then redirected to the same page without it, holding a session cookie, so the
 * token does not stay in the address bar and the dashboard's own API calls are let in too), or
 * with that cookie. The cookie holds an HMAC of the token, never the token.
 */

export const SESSION_COOKIE = 'kiln_dashboard';

function sessionValue(token: string): string {
  return createHmac('sha256', token).update('kiln dashboard session v1').digest('base64url');
}

function same(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function cookie(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === name) return v.join('=');
  }
  return undefined;
}

/** An onRequest hook for everything under `basePath`; `token` undefined means the area is closed. */
export function tokenGuard(token: string | undefined, basePath: string) {
  return async function guard(request: FastifyRequest, reply: FastifyReply): Promise<void> {
    if (!token) {
      return reply
        .code(403)
        .type('text/plain')
        .send('dashboard disabled: set KILN_API_TOKEN to enable it\n');
    }
    const bearer = /^Bearer\s+(.+)$/i.exec(request.headers.authorization ?? '')?.[1];
    if (bearer !== undefined && same(bearer, token)) return;
    const session = cookie(request.headers.cookie, SESSION_COOKIE);
    if (session !== undefined && same(session, sessionValue(token))) return;
    const url = new URL(request.url, 'http://kiln.invalid');
    const query = url.searchParams.get('token');
    if (query !== null && same(query, token)) {
      url.searchParams.delete('token');
      const secure = request.protocol === 'https' ? '; Secure' : '';
      return reply
        .header(
          'set-cookie',
          `${SESSION_COOKIE}=${sessionValue(token)}; Path=${basePath}; HttpOnly; SameSite=Strict${secure}`,
        )
        .redirect(`${url.pathname}${url.search}`, 303);
    }
    return reply
      .code(401)
      .header('www-authenticate', 'Bearer realm="kiln"')
      .type('text/plain')
      .send(
        'unauthorised: send Authorization: Bearer <KILN_API_TOKEN> or open with ?token=<KILN_API_TOKEN>\n',
      );
  };
}
