import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PermanentError } from '../errors.ts';
import { fetchBytes, HttpRefusal } from './http.ts';

/* A hostile or broken mirror's huge answers are refused while streaming, never read whole. */
describe('fetchBytes', () => {
  let url: string;
  let sentBytes = 0;
  const server = createServer((req, res) => {
    if (req.url === '/declared') {
      res.writeHead(200, { 'content-length': String(1 << 30) });
      res.end();
      return;
    }
    if (req.url === '/missing') {
      res.writeHead(404).end();
      return;
    }
    // Chunked, no length: 1 MiB chunks for as long as the client reads (at most 256 MiB).
    res.writeHead(200);
    const chunk = Buffer.alloc(1 << 20);
    const write = (): void => {
      while (sentBytes < 256 << 20) {
        sentBytes += chunk.length;
        if (!res.write(chunk)) {
          res.once('drain', write);
          return;
        }
      }
      res.end();
    };
    res.on('close', () => res.destroy());
    write();
  });
  beforeAll(async () => {
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it('refuses a body larger than expected as soon as it passes the limit', async () => {
    const error = await fetchBytes(`${url}/stream`, 'index x', { maxBytes: 4 << 20 }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(PermanentError);
    expect(String(error)).toMatch(/larger than the 4194304 bytes expected/);
    expect(sentBytes).toBeLessThan(64 << 20);
  });

  it('refuses a declared Content-Length over the limit without reading', async () => {
    await expect(fetchBytes(`${url}/declared`, 'index x', { maxBytes: 10 })).rejects.toThrow(
      /larger than the 10 bytes expected/,
    );
  });

  it('answers a 404 as an HttpRefusal carrying the status', async () => {
    const error = await fetchBytes(`${url}/missing`, 'index x').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HttpRefusal);
    expect(error instanceof HttpRefusal && error.status).toBe(404);
  });
});
