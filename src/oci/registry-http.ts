import { PermanentError, TransientError } from '../errors.ts';
import { httpStatusError } from '../http-errors.ts';
import type { RegistryCredentials } from './docker-config.ts';
import {
  basicAuthorization,
  fetchBearerToken,
  parseChallenge,
  type AuthChallenge,
  type BearerToken,
} from './registry-auth.ts';
import { Limits } from './limits.ts';
import { readTextPrefix } from './read-body.ts';
import { isLoopbackHost } from './reference.ts';

/** Options of a {@link RegistryHttp}: one registry host, one identity. */
export interface RegistryHttpOptions {
  /** `host[:port]` of the registry. */
  host: string;
  /** Basic credentials (KILN_REGISTRY_USERNAME/PASSWORD or Docker's config.json); none means anonymous. */
  credentials?: RegistryCredentials;
  /**
   * Use plain HTTP. Loopback hosts always do; any other host only when listed in
   * KILN_REGISTRY_INSECURE, so credentials never cross the network in clear by accident.
   */
  insecure?: boolean;
  fetch?: typeof fetch;
  userAgent?: string;
}

export interface RegistryRequest {
  method: 'GET' | 'HEAD' | 'PUT' | 'POST' | 'PATCH' | 'DELETE';
  /** `/v2/…` path with query, or an absolute URL (an upload `Location`). */
  path: string;
  repository: string;
  /** Needs push rights (uploads, manifest PUT). */
  push?: boolean;
  /** Source repository of a cross-repository mount: needs pull there too. */
  mountFrom?: string;
  headers?: Record<string, string>;
  /** A factory, not a body: a request that meets an auth challenge is sent again with a fresh body. */
  body?: () => NonNullable<RequestInit['body']>;
  /** What the request does, for error messages: "pushing blob sha256:… to kiln/python". */
  what: string;
}

/** Counts of what went over the wire, for benchmarks and logs. */
export interface RegistryStats {
  requests: Record<string, number>;
  bytesUploaded: number;
  bytesDownloaded: number;
}

/**
 * HTTP to one registry with the distribution spec's auth dance: anonymous first; on 401, answer
 * the `WWW-Authenticate` challenge (basic credentials, or a bearer token from the realm for the
 * scopes this request needs, cached until it expires) and send again once.
 */
export class RegistryHttp {
  readonly baseUrl: string;
  readonly stats: RegistryStats = { requests: {}, bytesUploaded: 0, bytesDownloaded: 0 };
  private challenge: AuthChallenge | undefined;
  private readonly tokens = new Map<string, BearerToken>();
  private readonly fetchImpl: typeof fetch;

  constructor(private readonly options: RegistryHttpOptions) {
    const plain = options.insecure === true || isLoopbackHost(options.host);
    this.baseUrl = `${plain ? 'http' : 'https'}://${options.host}`;
    this.fetchImpl = options.fetch ?? fetch;
  }

  get host(): string {
    return this.options.host;
  }

  /** Sends a request; returns the response for 2xx and 404, throws a typed error otherwise. */
  async send(req: RegistryRequest): Promise<Response> {
    let res = await this.attempt(req);
    if (res.status === 401) {
      const header = res.headers.get('www-authenticate');
      await res.body?.cancel();
      const challenge = header ? parseChallenge(header) : undefined;
      if (!challenge)
        throw new PermanentError(
          `${req.what}: registry ${this.host} requires authentication it does not describe`,
        );
      this.challenge = challenge;
      this.tokens.clear();
      res = await this.attempt(req);
      if (res.status === 401) {
        await res.body?.cancel();
        throw new PermanentError(
          `${req.what}: registry ${this.host} refused ${this.options.credentials ? `the credentials of user ${this.options.credentials.username}` : 'anonymous access (set KILN_REGISTRY_USERNAME/PASSWORD or log in with docker/podman)'}`,
        );
      }
    }
    if (res.ok || res.status === 404 || res.status === 304) return res;
    const detail = await errorDetail(res);
    throw httpStatusError({
      what: req.what,
      by: `registry ${this.host}`,
      status: res.status,
      headers: res.headers,
      ...(detail ? { detail } : {}),
    });
  }

  private async attempt(req: RegistryRequest): Promise<Response> {
    const url = req.path.startsWith('http') ? req.path : `${this.baseUrl}${req.path}`;
    const headers: Record<string, string> = {
      'user-agent': this.options.userAgent ?? 'kiln',
      ...req.headers,
    };
    const authorization = await this.authorization(req);
    if (authorization) headers.authorization = authorization;
    const body = req.body?.();
    this.stats.requests[req.method] = (this.stats.requests[req.method] ?? 0) + 1;
    const length = Number(headers['content-length'] ?? 0);
    if (body !== undefined && length > 0) this.stats.bytesUploaded += length;
    // fetch computes Content-Length itself (streams go chunked). A caller-set one is appended to
    // it when another undici's dispatcher is global ("58, 58"), which undici then refuses.
    delete headers['content-length'];
    try {
      return await this.fetchImpl(url, {
        method: req.method,
        headers,
        body,
        redirect: 'follow',
        ...(body !== undefined ? { duplex: 'half' } : {}),
      } satisfies RequestInit & { duplex?: 'half' });
    } catch (error) {
      throw new TransientError(`${req.what}: cannot reach registry ${this.host}`, { cause: error });
    }
  }

  private async authorization(req: RegistryRequest): Promise<string | undefined> {
    const challenge = this.challenge;
    if (!challenge) return undefined;
    if (challenge.scheme === 'basic') {
      return this.options.credentials ? basicAuthorization(this.options.credentials) : undefined;
    }
    const scopes = [`repository:${req.repository}:${req.push ? 'pull,push' : 'pull'}`];
    if (req.mountFrom) scopes.push(`repository:${req.mountFrom}:pull`);
    const key = scopes.join(' ');
    const cached = this.tokens.get(key);
    if (cached && cached.expiresAt > Date.now()) return `Bearer ${cached.token}`;
    const token = await fetchBearerToken(
      challenge,
      scopes,
      this.options.credentials,
      this.fetchImpl,
    );
    this.tokens.set(key, token);
    return `Bearer ${token.token}`;
  }
}

/** The first error code and message of a distribution error body, if it has one. */
async function errorDetail(res: Response): Promise<string | undefined> {
  const text = await readTextPrefix(res, Limits.errorBodyBytes);
  try {
    const body = JSON.parse(text) as { errors?: { code?: string; message?: string }[] };
    const first = body.errors?.[0];
    if (first) return [first.code, first.message].filter(Boolean).join(': ');
  } catch {
    // not JSON: fall through
  }
  return text ? text.slice(0, 200) : undefined;
}
