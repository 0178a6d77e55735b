import { notFound, sendConditional, startServer, type LocalServer } from './http.ts';

/** A local PyPI JSON API: `GET /pypi/<project>/json` with releases → files, ETag/304. */

export interface LocalPypi extends LocalServer {
  projects: Map<string, { version: string; time: string; yanked?: boolean }[]>;
}

export async function startLocalPypi(): Promise<LocalPypi> {
  const projects: LocalPypi['projects'] = new Map();
  const server = await startServer((req, res, url, self) => {
    const m = /^\/pypi\/([^/]+)\/json$/.exec(url.pathname);
    const versions = m?.[1] ? projects.get(m[1].toLowerCase()) : undefined;
    if (!m?.[1] || !versions) return notFound(res, '{"message": "Not Found"}');
    const name = m[1];
    const releases: Record<string, unknown[]> = {};
    for (const v of versions) {
      releases[v.version] = ['tar.gz', 'py3-none-any.whl'].map((ext) => ({
        comment_text: '',
        digests: {
          blake2b_256: 'ab'.repeat(32),
          md5: 'cd'.repeat(16),
          sha256: (v.version + ext).padEnd(64, '0').replace(/[^0-9a-f]/g, 'e'),
        },
        downloads: -1,
        filename: `${name}-${v.version}${ext.startsWith('py') ? '-' : '.'}${ext}`,
        has_sig: false,
        packagetype: ext.endsWith('whl') ? 'bdist_wheel' : 'sdist',
        python_version: ext.endsWith('whl') ? 'py3' : 'source',
        requires_python: '>=3.8',
        size: 123_456,
        upload_time: v.time.replace(/\.\d+Z$/, ''),
        upload_time_iso_8601: v.time,
        url: `${self.url}/packages/${name}-${v.version}.${ext}`,
        yanked: v.yanked ?? false,
        yanked_reason: null,
      }));
    }
    const last = versions.at(-1);
    const body = JSON.stringify({
      info: {
        name,
        version: last?.version,
        summary: `The ${name} project`,
        license: 'MIT',
        requires_python: '>=3.8',
        yanked: false,
      },
      last_serial: 123456,
      releases,
      urls: releases[last?.version ?? ''] ?? [],
      vulnerabilities: [],
    });
    sendConditional(req, res, self, body);
  });
  return Object.assign(server, { projects });
}
