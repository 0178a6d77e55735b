import { indexPath } from '../../src/upstream/crates/index.ts';
import { notFound, sendConditional, startServer, type LocalServer } from './http.ts';

/** A local crates sparse index: `config.json` and one NDJSON file per crate at cargo's index path. */

export interface LocalCrates extends LocalServer {
  crates: Map<string, { vers: string; yanked?: boolean; pubtime?: string }[]>;
}

export async function startLocalCrates(): Promise<LocalCrates> {
  const crates: LocalCrates['crates'] = new Map();
  const server = await startServer((req, res, url, self) => {
    if (url.pathname === '/config.json')
      return sendConditional(
        req,
        res,
        self,
        JSON.stringify({ dl: `${self.url}/api/v1/crates`, api: self.url }),
      );
    const name = url.pathname.split('/').pop() ?? '';
    const versions = crates.get(name);
    if (!versions || url.pathname !== `/${indexPath(name)}`) return notFound(res, 'not found');
    const lines = versions.map((v) =>
      JSON.stringify({
        name,
        vers: v.vers,
        deps: [
          {
            name: 'serde',
            req: '^1.0',
            features: [],
            optional: false,
            default_features: true,
            target: null,
            kind: 'normal',
          },
        ],
        cksum: v.vers.padEnd(64, '0').replace(/[^0-9a-f]/g, 'a'),
        features: { default: [] },
        yanked: v.yanked ?? false,
        links: null,
        v: 2,
        ...(v.pubtime ? { pubtime: v.pubtime } : {}),
      }),
    );
    sendConditional(req, res, self, lines.join('\n') + '\n', { contentType: 'text/plain' });
  });
  return Object.assign(server, { crates });
}
