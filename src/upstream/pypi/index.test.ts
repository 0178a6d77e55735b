import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testSourceContext } from '../../../test/servers/context.ts';
import { startLocalPypi, type LocalPypi } from '../../../test/servers/pypi.ts';
import type { WatchItem } from '../types.ts';
import { pypiSource } from './index.ts';

const at = (day: number) => new Date(Date.UTC(2024, 0, day)).toISOString();
let pypi: LocalPypi;

beforeAll(async () => {
  pypi = await startLocalPypi();
});
afterAll(() => pypi.close());

function open(env: Record<string, string> = {}, maxBodyBytes?: number) {
  return pypiSource.open(
    testSourceContext(
      { ...{ KILN_PYPI_URL: pypi.url }, ...env },
      maxBodyBytes ? { maxBodyBytes } : {},
    ),
  );
}
const item = (ref: string): WatchItem => ({ recipe: 'r', ref, upstream: { pypi: ref } });

describe('pypi source', () => {
  it('reads releases with sha256 per file, skips fully yanked versions, uses 304', async () => {
    pypi.projects.set('requests', [
      { version: '2.31.0', time: at(1) },
      { version: '2.32.0rc1', time: at(2) },
      { version: '2.32.0', time: at(3) },
      { version: '2.32.1', time: at(4), yanked: true },
    ]);
    const client = open();
    const result = await client.fetch(item('requests'));
    expect(result.releases.map((r) => r.version)).toEqual(['2.32.0', '2.32.0rc1', '2.31.0']);
    expect(result.releases[1]?.prerelease).toBe(true);
    expect(Object.values(result.releases[0]?.checksums ?? {})[0]).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect((await client.fetch(item('requests'))).unchanged).toBe(true);
  });

  it('needs a configured index', async () => {
    const ctx = testSourceContext({});
    await expect(pypiSource.open(ctx).fetch(item('requests'))).rejects.toThrow(/set KILN_PYPI_URL/);
  });
});
