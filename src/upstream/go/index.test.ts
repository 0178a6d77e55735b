import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testSourceContext } from '../../../test/servers/context.ts';
import { startLocalGoProxy, type LocalGoProxy } from '../../../test/servers/goproxy.ts';
import type { WatchItem } from '../types.ts';
import { escapeModulePath, goSource } from './index.ts';

const at = (day: number) => new Date(Date.UTC(2024, 0, day)).toISOString();
let go: LocalGoProxy;

beforeAll(async () => {
  go = await startLocalGoProxy();
});
afterAll(() => go.close());

function open(env: Record<string, string> = {}, maxBodyBytes?: number) {
  return goSource.open(
    testSourceContext(
      { ...{ KILN_GOPROXY: go.url }, ...env },
      maxBodyBytes ? { maxBodyBytes } : {},
    ),
  );
}
const item = (ref: string): WatchItem => ({ recipe: 'r', ref, upstream: { go: ref } });

describe('go source', () => {
  it('reads @v/list and .info, escaping capitals, and fetches .info once per version', async () => {
    go.modules.set('github.com/BurntSushi/toml', [
      { version: 'v1.3.0', time: at(1) },
      { version: 'v1.4.0-rc.1', time: at(2) },
      { version: 'v1.4.0', time: at(3) },
    ]);
    expect(escapeModulePath('github.com/BurntSushi/toml')).toBe('github.com/!burnt!sushi/toml');
    const client = open();
    const result = await client.fetch(item('github.com/BurntSushi/toml'));
    expect(result.releases.map((r) => [r.tag, r.version, r.prerelease])).toEqual([
      ['v1.4.0', '1.4.0', false],
      ['v1.4.0-rc.1', '1.4.0-rc.1', true],
      ['v1.3.0', '1.3.0', false],
    ]);
    expect(result.releases[0]?.publishedAt).toBe(at(3));
    go.modules.get('github.com/BurntSushi/toml')?.push({ version: 'v1.5.0', time: at(4) });
    const again = await client.fetch(item('github.com/BurntSushi/toml'));
    expect(again.releases[0]?.version).toBe('1.5.0');
    expect(go.hits.get('/github.com/!burnt!sushi/toml/@v/v1.4.0.info')).toBe(1);
  });
});
