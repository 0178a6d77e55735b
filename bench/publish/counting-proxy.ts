import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Counts {
  requests: Record<string, number>;
  bytesUp: number;
}

/**
 * A pass-through HTTP proxy in front of the registry that counts requests by method and request
 * body bytes, so kiln and skopeo are measured by the same yardstick. The Host header is passed
 * through, so upload locations the registry hands out point back at the proxy.
 */
export async function startCountingProxy(
  target: string,
): Promise<{ host: string; counts: Counts; reset(): Counts; stop(): Promise<void> }> {
  const [targetHost, targetPort] = target.split(':');
  let counts: Counts = { requests: {}, bytesUp: 0 };
  const server: Server = createServer((req, res) => {
    const method = req.method ?? 'GET';
    counts.requests[method] = (counts.requests[method] ?? 0) + 1;
    req.on('data', (chunk: Buffer) => {
      counts.bytesUp += chunk.length;
    });
    const upstream = request(
      { host: targetHost, port: Number(targetPort), method, path: req.url, headers: req.headers },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      },
    );
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    host: `127.0.0.1:${(server.address() as AddressInfo).port}`,
    get counts() {
      return counts;
    },
    reset() {
      const old = counts;
      counts = { requests: {}, bytesUp: 0 };
      return old;
    },
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
