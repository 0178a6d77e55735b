import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { dockerConfigCredentials } from './docker-config.ts';

describe("Docker's config.json", () => {
  it('finds credentials for a host written as host, scheme://host or with a path', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'kiln-docker-config-'));
    await writeFile(
      path.join(dir, 'config.json'),
      JSON.stringify({
        auths: {
          'registry-a.test:5000': { auth: Buffer.from('alice:pa:ss').toString('base64') },
          'https://registry-b.test/v1/': { username: 'bob', password: 'pw' },
        },
        credsStore: 'desktop',
      }),
    );
    const env = { DOCKER_CONFIG: dir };
    expect(await dockerConfigCredentials('registry-a.test:5000', env)).toEqual({
      username: 'alice',
      password: 'pa:ss',
    });
    expect(await dockerConfigCredentials('registry-b.test', env)).toEqual({
      username: 'bob',
      password: 'pw',
    });
    expect(await dockerConfigCredentials('registry-c.test', env)).toBeUndefined();
    expect(
      await dockerConfigCredentials('x', { DOCKER_CONFIG: path.join(dir, 'none') }),
    ).toBeUndefined();
  });

  it('says which file is broken without echoing its content', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'kiln-docker-config-'));
    await writeFile(
      path.join(dir, 'config.json'),
      '{"auths": {"h": {"auth": 42, "password": "leaky-secret"}}}',
    );
    const error = await dockerConfigCredentials('h', { DOCKER_CONFIG: dir }).then(
      () => undefined,
      (e: unknown) => (e instanceof Error ? e : undefined),
    );
    expect(error?.message).toMatch(/config.json is not a valid Docker config.json/);
    expect(JSON.stringify(error, Object.getOwnPropertyNames(error))).not.toContain('leaky-secret');
  });
});
