import { execFile } from 'node:child_process';
import { createPrivateKey, randomUUID, sign, type KeyObject } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import { startRegistry, type LocalRegistry } from '../../../src/local-services/registry.ts';

const run = promisify(execFile);

/**
 * A Docker token server (the protocol of distribution's `auth/token`) in front of a real
 * docker-registry configured for token auth: clients get a 401 with a Bearer challenge, fetch a
 * JWT from here with basic credentials, and present it to the registry, which checks the
 * signature against the certificate bundle we generate.
 */
export interface TokenAuthStack {
  registry: LocalRegistry;
  realm: string;
  /** Token requests served, with the scopes asked for, for assertions. */
  requests: { user: string | undefined; scopes: string[] }[];
  stop(): Promise<void>;
}

export interface TokenAuthOptions {
  dataDir: string;
  users: Record<string, string>;
}

const service = 'kiln-test-registry';
const issuer = 'kiln-test-token-server';

export async function startTokenAuthRegistry(options: TokenAuthOptions): Promise<TokenAuthStack> {
  await mkdir(options.dataDir, { recursive: true });
  const keyFile = path.join(options.dataDir, 'token.key');
  const certFile = path.join(options.dataDir, 'token.crt');
  await run('openssl', [
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-keyout',
    keyFile,
    '-out',
    certFile,
    '-days',
    '2',
    '-subj',
    '/CN=kiln test token signer',
  ]);
  const key = createPrivateKey(await readFile(keyFile));
  const certDer = pemBody(await readFile(certFile, 'utf8'));
  const requests: TokenAuthStack['requests'] = [];
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://token');
    if (url.pathname !== '/token') {
      res.writeHead(404).end();
      return;
    }
    const user = checkBasic(req.headers.authorization, options.users);
    if (user === false) {
      res
        .writeHead(401, { 'content-type': 'application/json' })
        .end('{"details":"bad credentials"}');
      return;
    }
    const scopes = url.searchParams.getAll('scope');
    requests.push({ user, scopes });
    // Anonymous callers get a token with no access; users get what they ask for.
    const access = user ? scopes.map(parseScope).filter((a) => a !== undefined) : [];
    const token = jwt(key, certDer, {
      sub: user ?? '',
      aud: url.searchParams.get('service') ?? service,
      access,
    });
    res
      .writeHead(200, { 'content-type': 'application/json' })
      .end(JSON.stringify({ token, expires_in: 300 }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const realm = `http://127.0.0.1:${(server.address() as AddressInfo).port}/token`;
  const registry = await startRegistry({
    dataDir: path.join(options.dataDir, 'registry'),
    tokenAuth: { realm, service, issuer, rootCertBundle: certFile },
  });
  return {
    registry,
    realm,
    requests,
    stop: async () => {
      await registry.stop();
      await closeServer(server);
    },
  };
}

function checkBasic(
  header: string | undefined,
  users: Record<string, string>,
): string | undefined | false {
  if (!header) return undefined;
  const m = /^Basic (.+)$/i.exec(header);
  if (!m?.[1]) return false;
  const decoded = Buffer.from(m[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  const user = decoded.slice(0, colon);
  return colon > 0 && users[user] === decoded.slice(colon + 1) ? user : false;
}

function parseScope(scope: string): { type: string; name: string; actions: string[] } | undefined {
  const m = /^([a-z]+):(.+):([a-z,*]+)$/.exec(scope);
  return m?.[1] && m[2] && m[3] ? { type: m[1], name: m[2], actions: m[3].split(',') } : undefined;
}

/** An ES256 JWT whose header carries the signing certificate (`x5c`), as distribution verifies it. */
function jwt(
  key: KeyObject,
  certDer: string,
  claims: { sub: string; aud: string; access: unknown[] },
): string {
  const now = Math.floor(Date.now() / 1000);
  const header = { alg: 'ES256', typ: 'JWT', x5c: [certDer] };
  const body = {
    iss: issuer,
    ...claims,
    exp: now + 300,
    nbf: now - 10,
    iat: now,
    jti: randomUUID(),
  };
  const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(body))}`;
  const signature = sign('sha256', Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' });
  return `${input}.${signature.toString('base64url')}`;
}

function b64url(text: string): string {
  return Buffer.from(text).toString('base64url');
}

function pemBody(pem: string): string {
  return pem.replace(/-----[A-Z ]+-----/g, '').replace(/\s+/g, '');
}

function closeServer(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}
