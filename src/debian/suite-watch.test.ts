import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Lockfile } from './lockfile.ts';
import { describeLockfileChange, pollSuite } from './suite-watch.ts';

describe('suite change checks', () => {
  let url = '';
  let requests = 0;
  const server = createServer((req, res) => {
    requests++;
    if (req.headers['if-none-match'] === '"v1"') {
      res.writeHead(304).end();
      return;
    }
    res
      .writeHead(200, { etag: '"v1"', 'last-modified': 'Sat, 01 Nov 2025 10:00:00 GMT' })
      .end('signed text');
  });
  beforeAll(async () => {
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const address: AddressInfo | string | null = server.address();
    if (address && typeof address !== 'string') url = `http://127.0.0.1:${address.port}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it('costs one 304 when the InRelease is unchanged', async () => {
    const source = { suite: 'stable', mirror: url, mirrors: [url], keyring: '' };
    const first = await pollSuite(source, undefined);
    expect(first.changed).toBe(true);
    const again = await pollSuite(source, first.state);
    expect(again).toEqual({ suite: 'stable', changed: false, state: first.state });
    expect(requests).toBe(2);
  });
});

describe('lockfile change reasons', () => {
  const pkg = (name: string, version: string, suite: string) => ({
    name,
    version,
    arch: 'amd64',
    source: name,
    'source-version': version,
    suite,
    filename: `pool/${name}_${version}.deb`,
    size: 1,
    sha256: version.padEnd(64, '0').replace(/[^a-f0-9]/g, 'a'),
  });
  const lock = (packages: ReturnType<typeof pkg>[]): Lockfile => ({
    'lockfile-version': 1,
    arch: 'amd64',
    suites: ['x'],
    packages,
    excluded: [],
  });

  it('names each changed package and marks security updates', () => {
    const change = describeLockfileChange(
      lock([pkg('libssl3', '3.0.15', 'bookworm'), pkg('zlib', '1', 'bookworm')]),
      lock([pkg('libssl3', '3.0.16', 'bookworm-security'), pkg('zlib', '1', 'bookworm')]),
    );
    expect(change.security).toBe(true);
    expect(change.reason).toBe('libssl3 3.0.15 → 3.0.16 (bookworm-security)');
  });
});
