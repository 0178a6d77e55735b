import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testSourceContext } from '../../../test/servers/context.ts';
import { startLocalOci, type LocalOci } from '../../../test/servers/oci.ts';
import { UpstreamNotFoundError } from '../errors.ts';
import type { WatchItem } from '../types.ts';
import { ociSource } from './index.ts';

let oci: LocalOci;

beforeAll(async () => {
  oci = await startLocalOci();
});
afterAll(() => oci.close());

function open(env: Record<string, string> = {}, maxBodyBytes?: number) {
  return ociSource.open(testSourceContext({ ...env }, maxBodyBytes ? { maxBodyBytes } : {}));
}
const item = (ref: string): WatchItem => ({ recipe: 'r', ref, upstream: { oci: ref } });

describe('oci source', () => {
  it('gets a token, follows Link pagination, and sends the first page conditionally', async () => {
    const tags = Array.from({ length: 2500 }, (_, i) => `1.${i}.0`).concat(['latest']);
    oci.repositories.set('library/app', tags);
    const ref = `${new URL(oci.url).host}/library/app`;
    const client = open();
    const result = await client.fetch(item(ref));
    expect(result.releases).toHaveLength(2500);
    expect(result.rejected.map((r) => r.tag)).toEqual(['latest']);
    expect(oci.stats.tokensIssued).toBe(1);
    expect(oci.hits.get('/v2/library/app/tags/list')).toBe(4); // 401, then three pages of 1000
    const again = await client.fetch(item(ref));
    expect(again.unchanged).toBe(true);
    await expect(
      client.fetch(item(`${new URL(oci.url).host}/library/missing`)),
    ).rejects.toBeInstanceOf(UpstreamNotFoundError);
  });
});
