import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFile, writeFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PermanentError, TransientError } from '../../src/errors.ts';
import { fetchFeed } from '../../src/vuln/feed-fetch.ts';
import { loadFeed } from '../../src/vuln/feed.ts';
import { tempDir, trackerFeed } from './fixtures.ts';

/** A feed server that honours If-None-Match as the tracker's web server does, and can fail. */
describe('KILN_VULN_FEED as a URL', () => {
  const body = JSON.stringify(trackerFeed());
  const requests: { url: string; ifNoneMatch: string | undefined }[] = [];
  let mode: 'ok' | 'down' = 'ok';
  let server: Server;
  let base = '';
  beforeAll(async () => {
    server = createServer((req: IncomingMessage, res) => {
      const ifNoneMatch = req.headers['if-none-match'];
      requests.push({ url: req.url ?? '', ifNoneMatch });
      if (req.url === '/missing') return res.writeHead(404).end();
      if (mode === 'down') return res.writeHead(503, { 'retry-after': '30' }).end();
      if (ifNoneMatch === '"v1"') return res.writeHead(304, { etag: '"v1"' }).end();
      res.writeHead(200, { etag: '"v1"', 'content-type': 'application/json' }).end(body);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('fetches once, then asks with If-None-Match and uses the cached copy on a 304', async () => {
    const cache = await tempDir('fetch');
    const first = await fetchFeed(`${base}/tracker/data/json`, cache);
    expect(first.outcome).toBe('fetched');
    expect(first.file).toContain(`${cache}/vuln/blobs/sha256/`);
    expect(await readFile(first.file, 'utf8')).toBe(body);
    const second = await fetchFeed(`${base}/tracker/data/json`, cache);
    expect(second).toMatchObject({
      outcome: 'not-modified',
      digest: first.digest,
      file: first.file,
    });
    expect(requests.slice(-2).map((r) => r.ifNoneMatch)).toEqual([undefined, '"v1"']);

    // A damaged cached copy is not trusted: fetched again, unconditionally.
    await writeFile(first.file, '{}');
    const third = await fetchFeed(`${base}/tracker/data/json`, cache);
    expect(third.outcome).toBe('fetched');
    expect(requests.at(-1)?.ifNoneMatch).toBeUndefined();

    // The server is down: the last good copy is used, and the reason given.
    mode = 'down';
    try {
      const stale = await fetchFeed(`${base}/tracker/data/json`, cache);
      expect(stale.outcome).toBe('stale');
      expect(stale.warning).toMatch(/HTTP 503/);
      const loaded = await loadFeed(
        { kind: 'url', url: `${base}/tracker/data/json` },
        cache,
        new Set(['openssl']),
      );
      expect(loaded.origin.fetch?.outcome).toBe('stale');
      expect(loaded.feed.sources.get('openssl')?.size).toBe(3);
    } finally {
      mode = 'ok';
    }
  });

  it('is transient when the server fails and nothing is cached, permanent on a 404', async () => {
    const cache = await tempDir('fetch-fail');
    mode = 'down';
    try {
      const error = await fetchFeed(`${base}/tracker/data/json`, cache).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(TransientError);
      expect(error).toMatchObject({ retryAfterMs: 30_000 });
    } finally {
      mode = 'ok';
    }
    await expect(fetchFeed(`${base}/missing`, cache)).rejects.toBeInstanceOf(PermanentError);
  });
});
