import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalGithub } from '../../../test/servers/github/server.ts';
import { PermanentError, TransientError } from '../../errors.ts';
import { fetchFiles } from './fetch-files.ts';

let dir: string;
let server: Server;
let base: string;
let tarball: Buffer;
const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'kiln-fetch-'));
  await mkdir(path.join(dir, 'src', 'hello-1.0.0'), { recursive: true });
  await writeFile(
    path.join(dir, 'src', 'hello-1.0.0', 'hello.c'),
    'int main(void) { return 0; }\n',
  );
  await execa('tar', [
    '-C',
    path.join(dir, 'src'),
    '-czf',
    path.join(dir, 'hello.tar.gz'),
    'hello-1.0.0',
  ]);
  tarball = await readFile(path.join(dir, 'hello.tar.gz'));
  server = createServer((req, res) => {
    if (req.url === '/releases/v1.0.0/hello-1.0.0.tar.gz') return res.end(tarball);
    if (req.url === '/releases/v1.0.0/SHA256SUMS')
      return res.end(`${'b'.repeat(64)}  other.tar.gz\n${sha(tarball)}  hello-1.0.0.tar.gz\n`);
    if (req.url === '/busy') {
      res.statusCode = 503;
      return res.end();
    }
    res.statusCode = 404;
    res.end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.close();
  await rm(dir, { recursive: true, force: true });
});

describe('fetchFiles', () => {
  it('fetches, checks against a checksums file and unpacks, stripping the top folder as asked', async () => {
    const contextDir = await mkdtemp(path.join(dir, 'ctx-'));
    const out = await fetchFiles(
      [
        {
          url: `${base}/releases/v\${version}/hello-\${version}.tar.gz`,
          'checksum-url': `${base}/releases/v\${version}/SHA256SUMS`,
          path: 'src',
          extract: true,
          'strip-components': 1,
        },
      ],
      { version: '1.0.0', contextDir },
    );
    expect(await readFile(path.join(contextDir, 'src', 'hello.c'), 'utf8')).toContain('int main');
    expect(out[0]?.material).toEqual({
      uri: `${base}/releases/v1.0.0/hello-1.0.0.tar.gz`,
      digest: { sha256: sha(tarball) },
      name: 'src',
    });
  });

  it('refuses a checksum mismatch and a file with no checksum, for good', async () => {
    const contextDir = await mkdtemp(path.join(dir, 'ctx-'));
    const url = `${base}/releases/v1.0.0/hello-1.0.0.tar.gz`;
    const bad = await fetchFiles([{ url, sha256: 'c'.repeat(64), path: 'x.tgz' }], {
      version: '1.0.0',
      contextDir,
    }).catch((e: unknown) => e);
    expect(bad).toBeInstanceOf(PermanentError);
    expect((bad as Error).message).toContain(`the recipe expects ${'c'.repeat(64)}`);
    await expect(
      fetchFiles([{ url, path: 'x.tgz' }], { version: '1.0.0', contextDir }),
    ).rejects.toThrow('kiln fetches nothing unchecked');
    await expect(
      fetchFiles([{ url, sha256: sha(tarball), path: '../../etc/x' }], {
        version: '1.0.0',
        contextDir,
      }),
    ).rejects.toThrow('leaves the build context');
  });

  it('tells a missing file (permanent) from a busy server (transient)', async () => {
    const contextDir = await mkdtemp(path.join(dir, 'ctx-'));
    await expect(
      fetchFiles([{ url: `${base}/nope`, sha256: 'c'.repeat(64), path: 'a' }], {
        version: '1',
        contextDir,
      }),
    ).rejects.toBeInstanceOf(PermanentError);
    await expect(
      fetchFiles([{ url: `${base}/busy`, sha256: 'c'.repeat(64), path: 'a' }], {
        version: '1',
        contextDir,
      }),
    ).rejects.toBeInstanceOf(TransientError);
  });

  it('fetches github: files from the configured GitHub’s web side (GHES: https://host for https://host/api/v3)', async () => {
    const github = await startLocalGithub({ ghesPaths: true });
    try {
      github.archives.add('acme/hello', 'v1.0.0', tarball);
      const contextDir = await mkdtemp(path.join(dir, 'ctx-'));
      const webBase = github.apiUrl.replace(/\/api\/v3$/, '');
      const out = await fetchFiles(
        [
          {
            url: 'github:acme/hello/archive/v${version}.tar.gz',
            sha256: sha(tarball),
            path: 'src',
            extract: true,
            'strip-components': 1,
          },
        ],
        { version: '1.0.0', contextDir, githubApiUrl: github.apiUrl },
      );
      expect(await readFile(path.join(contextDir, 'src', 'hello.c'), 'utf8')).toContain('main');
      expect(out[0]?.material.uri).toBe(`${webBase}/acme/hello/archive/v1.0.0.tar.gz`);
      expect(github.archives.downloads.get('acme/hello@v1.0.0')).toBe(1);
      await expect(
        fetchFiles(
          [{ url: 'github:acme/hello/archive/v9.tar.gz', sha256: sha(tarball), path: 'x' }],
          { version: '9', contextDir, githubApiUrl: github.apiUrl },
        ),
      ).rejects.toThrow(`fetching ${webBase}/acme/hello/archive/v9.tar.gz: HTTP 404`);
    } finally {
      await github.close();
    }
  });
});
