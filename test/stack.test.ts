import { describe, expect, it } from 'vitest';
import { testRedis, testRegistryHost } from './helpers/stack.ts';

describe('local stack', () => {
  it('runs a real Redis with AOF on and no eviction', async () => {
    const redis = testRedis();
    try {
      expect(await redis.config('GET', 'appendonly')).toEqual(['appendonly', 'yes']);
      expect(await redis.config('GET', 'maxmemory-policy')).toEqual([
        'maxmemory-policy',
        'noeviction',
      ]);
    } finally {
      redis.disconnect();
    }
  });

  it('runs a real distribution registry answering the v2 API', async () => {
    const res = await fetch(`http://${testRegistryHost()}/v2/`);
    expect(res.status).toBe(200);
    expect(res.headers.get('docker-distribution-api-version')).toBe('registry/2.0');
  });
});
