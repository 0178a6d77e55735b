import { notFound, sendConditional, startServer, type LocalServer } from './http.ts';

/*
 * A local npm registry: full packuments (`GET /<name>`, scoped names as `@scope%2fname`) shaped
 * like the real registry's, with dist-tags, versions[].dist and time, and ETag/304.
 */

export interface NpmPackage {
  name: string;
  versions: { version: string; time: string }[];
  latest?: string;
}

export function packumentOf(pkg: NpmPackage, origin: string): unknown {
  const time: Record<string, string> = {
    created: pkg.versions[0]?.time ?? '2020-01-01T00:00:00.000Z',
    modified: pkg.versions.at(-1)?.time ?? '',
  };
  const versions: Record<string, unknown> = {};
  for (const v of pkg.versions) {
    time[v.version] = v.time;
    const file = `${pkg.name.split('/').pop()}-${v.version}.tgz`;
    versions[v.version] = {
      name: pkg.name,
      version: v.version,
      description: `The ${pkg.name} package`,
      main: 'index.js',
      license: 'MIT',
      _id: `${pkg.name}@${v.version}`,
      _nodeVersion: '20.11.0',
      _npmVersion: '10.2.4',
      dist: {
        integrity: `sha512-${Buffer.from(`${pkg.name}@${v.version}`).toString('base64')}`,
        shasum: 'da39a3ee5e6b4b0d3255bfef95601890afd80709',
        tarball: `${origin}/${pkg.name}/-/${file}`,
        fileCount: 4,
        unpackedSize: 12_345,
      },
      maintainers: [{ name: 'someone', email: 'someone@example.invalid' }],
      directories: {},
    };
  }
  return {
    _id: pkg.name,
    _rev: '12-abcdef',
    name: pkg.name,
    'dist-tags': { latest: pkg.latest ?? pkg.versions.at(-1)?.version },
    versions,
    time,
    maintainers: [{ name: 'someone', email: 'someone@example.invalid' }],
    description: `The ${pkg.name} package`,
    readme: '# readme\n',
    license: 'MIT',
  };
}

export interface LocalNpm extends LocalServer {
  packages: Map<string, NpmPackage>;
  /** Raw bodies served as-is for a name (hostile answers). */
  raw: Map<string, string>;
  /** An error status (with `Retry-After: 120`) to answer for a name instead. */
  failures: Map<string, number>;
}

export async function startLocalNpm(): Promise<LocalNpm> {
  const packages = new Map<string, NpmPackage>();
  const raw = new Map<string, string>();
  const failures = new Map<string, number>();
  const server = await startServer((req, res, url, self) => {
    const name = decodeURIComponent(url.pathname.slice(1));
    const status = failures.get(name);
    if (status) {
      res.writeHead(status, { 'retry-after': '120', 'content-type': 'text/plain' });
      return void res.end('Service Unavailable');
    }
    const body =
      raw.get(name) ??
      (packages.has(name)
        ? JSON.stringify(packumentOf(packages.get(name) as NpmPackage, self.url))
        : undefined);
    if (body === undefined) return notFound(res);
    sendConditional(req, res, self, body);
  });
  return Object.assign(server, { packages, raw, failures });
}
