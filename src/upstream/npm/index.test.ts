import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testSourceContext } from '../../../test/servers/context.ts';
import { startLocalNpm, type LocalNpm } from '../../../test/servers/npm.ts';
import { PermanentError } from '../../errors.ts';
import { UpstreamNotFoundError } from '../errors.ts';
import type { WatchItem } from '../types.ts';
import { npmSource } from './index.ts';

const at = (day: number) => new Date(Date.UTC(2024, 0, day)).toISOString();
let npm: LocalNpm;

beforeAll(async () => {
  npm = await startLocalNpm();
});
afterAll(() => npm.close());

function open(env: Record<string, string> = {}, maxBodyBytes?: number) {
  return npmSource.open(
    testSourceContext(
      { ...{ KILN_NPM_REGISTRY: npm.url }, ...env },
      maxBodyBytes ? { maxBodyBytes } : {},
    ),
  );
}
const item = (ref: string): WatchItem => ({ recipe: 'r', ref, upstream: { npm: ref } });

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
    const client = open();
    const first = await client.fetch(item('@scope/tool'));
    expect(first.releases.map((r) => r.version)).toEqual(['1.1.0', '1.1.0-beta.1', '1.0.0']);
    expect(first.releases[1]).toMatchObject({ prerelease: true, publishedAt: at(2) });
    expect(first.releases[0]?.checksums?.integrity).toMatch(/^sha512-/);
    const second = await client.fetch(item('@scope/tool'));
    expect(second.unchanged).toBe(true);
    expect(second.releases).toEqual(first.releases);
    expect(npm.notModified).toBe(1);
    expect(await client.hostOf(item('@scope/tool'))).toBe(new URL(npm.url).host);
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
    const client = open({}, 100_000);
    await expect(client.fetch(item('broken'))).rejects.toThrow(
      /npm package broken: malformed JSON/,
    );
    await expect(client.fetch(item('huge'))).rejects.toThrow(/larger than the 100000-byte limit/);
    const evil = await client.fetch(item('evil')).catch((e: unknown) => e);
    expect(evil).toBeInstanceOf(PermanentError);
    expect(String(evil)).toMatch(
      /npm package evil: no usable version among 2 release\(s\); first refused: .*(path traversal|shell metacharacters)/,
    );
    await expect(client.fetch(item('nope'))).rejects.toBeInstanceOf(UpstreamNotFoundError);
    await expect(client.fetch(item('Bad Name'))).rejects.toThrow(/not an npm package name/);
  });
});
