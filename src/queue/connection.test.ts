import { Cluster, Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { createRedis, redisOptions } from './connection.ts';

// How each URL form becomes ioredis options (the live topologies are in test/queue/*.test.ts).
describe('redisOptions and createRedis', () => {
  it('waits for a reconnect instead of failing commands, in every form (BullMQ needs it)', () => {
    for (const url of [
      'redis://h:1/2',
      'redis://a:1,b:2/?cluster=true',
      'redis+sentinel://s:1,t:2/m',
    ]) {
      expect(redisOptions(url).maxRetriesPerRequest).toBeNull();
    }
  });

  it('turns on TLS for rediss, and for the Sentinels and the master of rediss+sentinel', () => {
    expect(redisOptions('rediss://h:1').tls).toEqual({});
    expect(redisOptions('redis://h:1').tls).toBeUndefined();
    expect(redisOptions('rediss+sentinel://:pw-x1@s:1/m?db=4')).toMatchObject({
      sentinels: [{ host: 's', port: 1 }],
      name: 'm',
      db: 4,
      password: 'pw-x1',
      tls: {},
      enableTLSForSentinelMode: true,
      sentinelTLS: {},
    });
    expect(redisOptions('redis+sentinel://s:1/m')).toMatchObject({
      enableTLSForSentinelMode: false,
      sentinelTLS: undefined,
    });
  });

  it('makes a Cluster client for a cluster URL, with TLS and credentials on every node', async () => {
    const plain = createRedis('redis://127.0.0.1:1', { lazyConnect: true });
    const cluster = createRedis('rediss://bot:pw-x2@a:7000,b:7001/?cluster=true', {
      lazyConnect: true,
    });
    try {
      expect(plain).toBeInstanceOf(Redis);
      expect(cluster).toBeInstanceOf(Cluster);
      if (!(cluster instanceof Cluster)) return;
      expect(cluster.options.redisOptions).toMatchObject({
        username: 'bot',
        password: 'pw-x2',
        tls: {},
        maxRetriesPerRequest: null,
      });
      expect(cluster.options.dnsLookup).toBeTypeOf('function');
    } finally {
      plain.disconnect();
      cluster.disconnect();
    }
  });
});
