import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalCrates, type LocalCrates } from '../../test/servers/crates.ts';
import { testSourceContext } from '../../test/servers/context.ts';
import { startLocalGoProxy, type LocalGoProxy } from '../../test/servers/goproxy.ts';
import { startLocalNpm, type LocalNpm } from '../../test/servers/npm.ts';
import { startLocalOci, type LocalOci } from '../../test/servers/oci.ts';
import { startLocalPypi, type LocalPypi } from '../../test/servers/pypi.ts';
import { PermanentError } from '../errors.ts';
import { cratesSource } from './crates/index.ts';
import { UpstreamNotFoundError } from './errors.ts';
import { escapeModulePath, goSource } from './go/index.ts';
import { npmSource } from './npm/index.ts';
import { ociSource } from './oci/index.ts';
import { pypiSource } from './pypi/index.ts';
import type { UpstreamSource, WatchItem } from './types.ts';

const at = (day: number) => new Date(Date.UTC(2024, 0, day)).toISOString();
let npm: LocalNpm;
let pypi: LocalPypi;
let crates: LocalCrates;
let go: LocalGoProxy;
let oci: LocalOci;

beforeAll(async () => {
  [npm, pypi, crates, go, oci] = await Promise.all([
    startLocalNpm(),
    startLocalPypi(),
    startLocalCrates(),
    startLocalGoProxy(),
    startLocalOci(),
  ]);
});
afterAll(async () => {
  await Promise.all([npm, pypi, crates, go, oci].map((s) => s.close()));
});

function open(source: UpstreamSource, env: Record<string, string> = {}, maxBodyBytes?: number) {
  const ctx = testSourceContext(
    {
      KILN_NPM_REGISTRY: npm.url,
      KILN_PYPI_URL: pypi.url,
      KILN_CRATES_URL: `sparse+${crates.url}/`,
      KILN_GOPROXY: go.url,
      ...env,
    },
    maxBodyBytes ? { maxBodyBytes } : {},
  );
  return source.open(ctx);
}
const item = (source: UpstreamSource, ref: string): WatchItem => ({
  recipe: 'r',
  ref,
  upstream: { [source.id]: ref },
});

describe('npm source', () => {
  it('reads versions with publish times and integrity, and answers 304 from the cache', async () => {
    npm.packages.set('@scope/tool', {
      name: '@scope/tool',
      versions: [
        { version: '1.0.0', time: at(1) },
        { version: '1.1.0-beta.1', time: at(2) },
        { version: '1.1.0', time: at(3) },
      ],
    });
    const client = open(npmSource);
    const first = await client.fetch(item(npmSource, '@scope/tool'));
    expect(first.releases.map((r) => r.version)).toEqual(['1.1.0', '1.1.0-beta.1', '1.0.0']);
    expect(first.releases[1]).toMatchObject({ prerelease: true, publishedAt: at(2) });
    expect(first.releases[0]?.checksums?.integrity).toMatch(/^sha512-/);
    const second = await client.fetch(item(npmSource, '@scope/tool'));
    expect(second.unchanged).toBe(true);
    expect(second.releases).toEqual(first.releases);
    expect(npm.notModified).toBe(1);
    expect(await client.hostOf(item(npmSource, '@scope/tool'))).toBe(new URL(npm.url).host);
  });

  it('refuses malformed JSON, enormous answers, bad versions and unknown packages', async () => {
    npm.raw.set('broken', '{"name": "broken", "versions": {');
    npm.raw.set(
      'huge',
      JSON.stringify({ name: 'huge', versions: {}, readme: 'x'.repeat(200_000) }),
    );
    npm.packages.set('evil', {
      name: 'evil',
      versions: [
        { version: '1.0.0;curl${IFS}x|sh', time: at(1) },
        { version: '../../etc/passwd1', time: at(2) },
      ],
    });
    const client = open(npmSource, {}, 100_000);
    await expect(client.fetch(item(npmSource, 'broken'))).rejects.toThrow(
      /npm package broken: malformed JSON/,
    );
    await expect(client.fetch(item(npmSource, 'huge'))).rejects.toThrow(
      /larger than the 100000-byte limit/,
    );
    const evil = await client.fetch(item(npmSource, 'evil')).catch((e: unknown) => e);
    expect(evil).toBeInstanceOf(PermanentError);
    expect(String(evil)).toMatch(
      /npm package evil: no usable version among 2 release\(s\); first refused: .*(path traversal|shell metacharacters)/,
    );
    await expect(client.fetch(item(npmSource, 'nope'))).rejects.toBeInstanceOf(
      UpstreamNotFoundError,
    );
    await expect(client.fetch(item(npmSource, 'Bad Name'))).rejects.toThrow(
      /not an npm package name/,
    );
  });
});

describe('pypi source', () => {
  it('reads releases with sha256 per file, skips fully yanked versions, uses 304', async () => {
    pypi.projects.set('requests', [
      { version: '2.31.0', time: at(1) },
      { version: '2.32.0rc1', time: at(2) },
      { version: '2.32.0', time: at(3) },
      { version: '2.32.1', time: at(4), yanked: true },
    ]);
    const client = open(pypiSource);
    const result = await client.fetch(item(pypiSource, 'requests'));
    expect(result.releases.map((r) => r.version)).toEqual(['2.32.0', '2.32.0rc1', '2.31.0']);
    expect(result.releases[1]?.prerelease).toBe(true);
    expect(Object.values(result.releases[0]?.checksums ?? {})[0]).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect((await client.fetch(item(pypiSource, 'requests'))).unchanged).toBe(true);
  });

  it('needs a configured index', async () => {
    const ctx = testSourceContext({});
    await expect(pypiSource.open(ctx).fetch(item(pypiSource, 'requests'))).rejects.toThrow(
      /set KILN_PYPI_URL/,
    );
  });
});

describe('crates source', () => {
  it('reads the sparse index, newest first, without yanked versions', async () => {
    crates.crates.set('ripgrep', [
      { vers: '13.0.0' },
      { vers: '14.0.0', pubtime: at(5) },
      { vers: '14.1.0', yanked: true },
    ]);
    crates.crates.set('cc', [{ vers: '1.0.0' }]);
    const client = open(cratesSource);
    const result = await client.fetch(item(cratesSource, 'ripgrep'));
    expect(result.releases.map((r) => r.version)).toEqual(['14.0.0', '13.0.0']);
    expect(result.releases[0]).toMatchObject({
      publishedAt: at(5),
      checksums: { sha256: expect.stringMatching(/^[0-9a-f]{64}$/) },
    });
    expect((await client.fetch(item(cratesSource, 'cc'))).releases).toHaveLength(1);
    expect((await client.fetch(item(cratesSource, 'ripgrep'))).unchanged).toBe(true);
  });
});

describe('go source', () => {
  it('reads @v/list and .info, escaping capitals, and fetches .info once per version', async () => {
    go.modules.set('github.com/BurntSushi/toml', [
      { version: 'v1.3.0', time: at(1) },
      { version: 'v1.4.0-rc.1', time: at(2) },
      { version: 'v1.4.0', time: at(3) },
    ]);
    expect(escapeModulePath('github.com/BurntSushi/toml')).toBe('github.com/!burnt!sushi/toml');
    const client = open(goSource);
    const result = await client.fetch(item(goSource, 'github.com/BurntSushi/toml'));
    expect(result.releases.map((r) => [r.tag, r.version, r.prerelease])).toEqual([
      ['v1.4.0', '1.4.0', false],
      ['v1.4.0-rc.1', '1.4.0-rc.1', true],
      ['v1.3.0', '1.3.0', false],
    ]);
    expect(result.releases[0]?.publishedAt).toBe(at(3));
    go.modules.get('github.com/BurntSushi/toml')?.push({ version: 'v1.5.0', time: at(4) });
    const again = await client.fetch(item(goSource, 'github.com/BurntSushi/toml'));
    expect(again.releases[0]?.version).toBe('1.5.0');
    expect(go.hits.get('/github.com/!burnt!sushi/toml/@v/v1.4.0.info')).toBe(1);
  });
});

describe('oci source', () => {
  it('gets a token, follows Link pagination, and sends the first page conditionally', async () => {
    const tags = Array.from({ length: 2500 }, (_, i) => `1.${i}.0`).concat(['latest']);
    oci.repositories.set('library/app', tags);
    const ref = `${new URL(oci.url).host}/library/app`;
    const client = open(ociSource);
    const result = await client.fetch(item(ociSource, ref));
    expect(result.releases).toHaveLength(2500);
    expect(result.rejected.map((r) => r.tag)).toEqual(['latest']);
    expect(oci.stats.tokensIssued).toBe(1);
    expect(oci.hits.get('/v2/library/app/tags/list')).toBe(4); // 401, then three pages of 1000
    const again = await client.fetch(item(ociSource, ref));
    expect(again.unchanged).toBe(true);
    await expect(
      client.fetch(item(ociSource, `${new URL(oci.url).host}/library/missing`)),
    ).rejects.toBeInstanceOf(UpstreamNotFoundError);
  });
});
