import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testSourceContext } from '../../../test/servers/context.ts';
import { startLocalCrates, type LocalCrates } from '../../../test/servers/crates.ts';
import type { WatchItem } from '../types.ts';
import { cratesSource } from './index.ts';

const at = (day: number) => new Date(Date.UTC(2024, 0, day)).toISOString();
let crates: LocalCrates;

beforeAll(async () => {
  crates = await startLocalCrates();
});
afterAll(() => crates.close());

function open(env: Record<string, string> = {}, maxBodyBytes?: number) {
  return cratesSource.open(
    testSourceContext(
      { KILN_CRATES_URL: `sparse+${crates.url}/`, ...env },
      maxBodyBytes ? { maxBodyBytes } : {},
    ),
  );
}
const item = (ref: string): WatchItem => ({ recipe: 'r', ref, upstream: { crates: ref } });

describe('crates source', () => {
  it('reads the sparse index, newest first, without yanked versions', async () => {
    crates.crates.set('ripgrep', [
      { vers: '13.0.0' },
      { vers: '14.0.0', pubtime: at(5) },
      { vers: '14.1.0', yanked: true },
    ]);
    crates.crates.set('cc', [{ vers: '1.0.0' }]);
    const client = open();
    const result = await client.fetch(item('ripgrep'));
    expect(result.releases.map((r) => r.version)).toEqual(['14.0.0', '13.0.0']);
    expect(result.releases[0]).toMatchObject({
      publishedAt: at(5),
      checksums: { sha256: expect.stringMatching(/^[0-9a-f]{64}$/) },
    });
    expect((await client.fetch(item('cc'))).releases).toHaveLength(1);
    expect((await client.fetch(item('ripgrep'))).unchanged).toBe(true);
  });
});
