import { once } from 'node:events';
import { createServer, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';

/** What the hostile registry answers to one request. */
export interface HostileAnswer {
  status: number;
  headers?: Record<string, string>;
  /** A body sent as is. */
  body?: Buffer | string;
  /** Or an endless one: this many bytes of `fill`, streamed with backpressure. */
  stream?: { bytes: number; fill?: number };
  /**
   * How the streamed body is framed: `chunked` (no Content-Length), `length` (an honest
   * Content-Length), or a number: a lying Content-Length, while `stream.bytes` are sent anyway.
   */
  framing?: 'chunked' | 'length' | number;
}

export interface HostileRegistry {
  /** `127.0.0.1:<port>`: loopback, so kiln's client speaks plain HTTP to it. */
  host: string;
  /** Body bytes the server managed to hand to the socket, over all connections. */
  sent(): number;
  /** Resolves once every streamed body has ended: sent whole, or the client hung up. */
  settled(): Promise<void>;
  close(): Promise<void>;
}

const statusText: Record<number, string> = { 200: 'OK', 401: 'Unauthorized', 500: 'Error' };

/**
 * A registry that speaks raw HTTP/1.1 over TCP, so it can lie: endless chunked bodies, a
 * Content-Length that does not match what follows, bodies far past any sane size. It counts the
 * body bytes it got out before the client hung up: the figure a size cap is judged by.
 */
export async function startHostileRegistry(
  route: (method: string, path: string, headers: Record<string, string>) => HostileAnswer,
): Promise<HostileRegistry> {
  let sent = 0;
  const streaming = new Set<Promise<void>>();
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    let pending = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      const end = pending.indexOf('\r\n\r\n');
      if (end < 0) return;
      const head = pending.subarray(0, end).toString('latin1').split('\r\n');
      pending = pending.subarray(end + 4);
      const [method = '', path = ''] = (head[0] ?? '').split(' ');
      const headers = Object.fromEntries(
        head.slice(1).map((line) => {
          const i = line.indexOf(':');
          return [line.slice(0, i).trim().toLowerCase(), line.slice(i + 1).trim()];
        }),
      );
      const done = answer(socket, method, route(method, path, headers)).catch(() => {
        socket.destroy();
      });
      streaming.add(done);
      void done.then(() => streaming.delete(done));
    });
  });

  async function answer(socket: Socket, method: string, a: HostileAnswer): Promise<void> {
    const headers: Record<string, string> = { ...a.headers };
    const body = a.body === undefined ? undefined : Buffer.from(a.body);
    const framing = a.framing ?? 'chunked';
    if (body) headers['content-length'] = String(body.length);
    else if (a.stream && framing === 'chunked') headers['transfer-encoding'] = 'chunked';
    else if (a.stream && framing === 'length') headers['content-length'] = String(a.stream.bytes);
    else if (a.stream && typeof framing === 'number') headers['content-length'] = String(framing);
    else headers['content-length'] = '0';
    const lines = [`HTTP/1.1 ${a.status} ${statusText[a.status] ?? 'Status'}`];
    for (const [k, v] of Object.entries(headers)) lines.push(`${k}: ${v}`);
    socket.write(`${lines.join('\r\n')}\r\n\r\n`);
    if (method === 'HEAD') return;
    if (body) {
      socket.write(body);
      sent += body.length;
      return;
    }
    if (!a.stream) return;
    const piece = Buffer.alloc(64 * 1024, a.stream.fill ?? 0x20);
    let left = a.stream.bytes;
    while (left > 0 && !socket.destroyed) {
      const n = Math.min(left, piece.length);
      const data = piece.subarray(0, n);
      const ok =
        framing === 'chunked'
          ? socket.write(
              Buffer.concat([Buffer.from(`${n.toString(16)}\r\n`), data, Buffer.from('\r\n')]),
            )
          : socket.write(data);
      sent += n;
      left -= n;
      if (!ok) {
        const drained = await Promise.race([
          once(socket, 'drain').then(() => true),
          once(socket, 'close').then(() => false),
        ]);
        if (!drained) return;
      }
    }
    if (framing === 'chunked' && !socket.destroyed) socket.write('0\r\n\r\n');
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    host: `127.0.0.1:${port}`,
    sent: () => sent,
    settled: async () => {
      await Promise.all([...streaming]);
    },
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
