import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface LocalServer {
  url: string;
  /** Requests seen, by path; and 304s answered. */
  hits: Map<string, number>;
  notModified: number;
  close(): Promise<void>;
}

export type Handler = (
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  server: LocalServer,
) => void;

/** A loopback HTTP server for one protocol's handler, counting requests per path. */
export async function startServer(handler: Handler): Promise<LocalServer> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const local: LocalServer = {
    url,
    hits: new Map(),
    notModified: 0,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  server.on('request', (req, res) => {
    const u = new URL(req.url ?? '/', url);
    local.hits.set(u.pathname, (local.hits.get(u.pathname) ?? 0) + 1);
    handler(req, res, u, local);
  });
  return local;
}

/** Sends a body with a strong ETag and Last-Modified, or 304 when the request's validators match. */
export function sendConditional(
  req: IncomingMessage,
  res: ServerResponse,
  server: LocalServer,
  body: string,
  options: { contentType?: string; lastModified?: Date; headers?: Record<string, string> } = {},
): void {
  const etag = `"${createHash('sha256').update(body).digest('hex').slice(0, 32)}"`;
  const lastModified = (options.lastModified ?? new Date('2024-06-01T00:00:00Z')).toUTCString();
  const base = { etag, 'last-modified': lastModified, ...options.headers };
  const inm = req.headers['if-none-match'];
  const ims = req.headers['if-modified-since'];
  if ((inm && inm === etag) || (!inm && ims && Date.parse(ims) >= Date.parse(lastModified))) {
    server.notModified++;
    res.writeHead(304, base);
    return void res.end();
  }
  res.writeHead(200, { 'content-type': options.contentType ?? 'application/json', ...base });
  res.end(body);
}

export function notFound(res: ServerResponse, body = '{"error":"Not found"}'): void {
  res.writeHead(404, { 'content-type': 'application/json' });
  res.end(body);
}
