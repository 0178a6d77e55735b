import { escapeModulePath } from '../../src/upstream/go/index.ts';
import { notFound, sendConditional, startServer, type LocalServer } from './http.ts';

/** A local Go module proxy: `<module>/@v/list` and `<module>/@v/<version>.info`, case-escaped paths. */

export interface LocalGoProxy extends LocalServer {
  modules: Map<string, { version: string; time: string }[]>;
}

export async function startLocalGoProxy(): Promise<LocalGoProxy> {
  const modules: LocalGoProxy['modules'] = new Map();
  const server = await startServer((req, res, url, self) => {
    const m = /^\/(.+)\/@v\/(list|(.+)\.info)$/.exec(url.pathname);
    const mod = m?.[1] ? [...modules.keys()].find((k) => escapeModulePath(k) === m[1]) : undefined;
    const versions = mod ? modules.get(mod) : undefined;
    if (!m || !versions) return notFound(res, 'not found: module unknown');
    if (m[2] === 'list')
      return sendConditional(req, res, self, versions.map((v) => v.version).join('\n') + '\n', {
        contentType: 'text/plain; charset=utf-8',
      });
    const v = versions.find((x) => x.version === m[3]);
    if (!v) return notFound(res, `not found: unknown revision ${m[3]}`);
    sendConditional(
      req,
      res,
      self,
      JSON.stringify({
        Version: v.version,
        Time: v.time,
        Origin: {
          VCS: 'git',
          URL: 'https://git.invalid/x',
          Ref: `refs/tags/${v.version}`,
          Hash: 'ab'.repeat(20),
        },
      }),
    );
  });
  return Object.assign(server, { modules });
}
