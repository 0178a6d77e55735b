import { spawn } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ensureTools, tools } from './packages.ts';
import { freePort } from './ports.ts';
import { serviceOf, waitOrFail, type LocalService } from './redis.ts';

export interface RegistryOptions {
  dataDir: string;
  port?: number;
  /** Token auth: the realm (token server URL), service and the PEM bundle that signs tokens. */
  tokenAuth?: { realm: string; service: string; issuer: string; rootCertBundle: string };
  /** htpasswd file (bcrypt) for basic auth. */
  htpasswd?: string;
}

export interface LocalRegistry extends LocalService {
  /** `127.0.0.1:<port>`: what goes before the repository in an image reference. */
  host: string;
}

/**
 * Starts Debian's `docker-registry` (distribution 2.8) on a free loopback port with its storage in
 * `dataDir`. Deletes are enabled so tests can clean up their repositories.
 */
export async function startRegistry(options: RegistryOptions): Promise<LocalRegistry> {
  ensureTools([tools.registry]);
  const dataDir = path.resolve(options.dataDir);
  await mkdir(dataDir, { recursive: true });
  const port = options.port ?? (await freePort());
  const auth = options.tokenAuth
    ? `auth:
  token:
    realm: ${options.tokenAuth.realm}
    service: ${options.tokenAuth.service}
    issuer: ${options.tokenAuth.issuer}
    rootcertbundle: ${options.tokenAuth.rootCertBundle}
`
    : options.htpasswd
      ? `auth:
  htpasswd:
    realm: kiln
    path: ${options.htpasswd}
`
      : '';
  const config = `version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: ${path.join(dataDir, 'storage')}
  delete:
    enabled: true
  maintenance:
    uploadpurging:
      enabled: false
http:
  addr: 127.0.0.1:${port}
  secret: kiln-local-registry
${auth}`;
  const configFile = path.join(dataDir, 'config.yml');
  await writeFile(configFile, config);
  const child = spawn('docker-registry', ['serve', configFile], {
    stdio: ['ignore', 'ignore', 'pipe'],
    detached: true,
    env: { ...process.env, OTEL_TRACES_EXPORTER: 'none' },
  });
  await waitOrFail(child, port, 'docker-registry');
  const host = `127.0.0.1:${port}`;
  return { ...serviceOf(child, port, `http://${host}`), host };
}
