import { describe, expect, it } from 'vitest';
import { maskSecrets } from '../log.ts';
import { parseRedisUrl } from './redis-url.ts';

describe('parseRedisUrl', () => {
  it('reads one server, with credentials, database and TLS', () => {
    expect(parseRedisUrl('redis://127.0.0.1:6390/2')).toMatchObject({
      kind: 'standalone',
      node: { host: '127.0.0.1', port: 6390 },
      db: 2,
      tls: false,
    });
    expect(parseRedisUrl('rediss://bot:p%40ss-word@redis.internal')).toMatchObject({
      kind: 'standalone',
      node: { host: 'redis.internal', port: 6379 },
      username: 'bot',
      password: 'p@ss-word',
      tls: true,
    });
    expect(parseRedisUrl('redis://[::1]:7000')).toMatchObject({
      node: { host: '::1', port: 7000 },
    });
  });

  it('reads a Cluster from its seed nodes', () => {
    expect(parseRedisUrl('rediss://:pw-cluster@a:7000,b:7001,c/?cluster=true')).toEqual({
      kind: 'cluster',
      nodes: [
        { host: 'a', port: 7000 },
        { host: 'b', port: 7001 },
        { host: 'c', port: 6379 },
      ],
      username: undefined,
      password: 'pw-cluster',
      tls: true,
    });
    expect(parseRedisUrl('redis://a:7000?cluster=true')).toMatchObject({ kind: 'cluster' });
  });

  it('reads a Sentinel group, its master name and the Sentinels’ own password', () => {
    expect(
      parseRedisUrl(
        'rediss+sentinel://:pw-master@s1,s2:26380/mymaster?db=3&sentinelPassword=pw-sentinel',
      ),
    ).toEqual({
      kind: 'sentinel',
      sentinels: [
        { host: 's1', port: 26379 },
        { host: 's2', port: 26380 },
      ],
      masterName: 'mymaster',
      db: 3,
      username: undefined,
      password: 'pw-master',
      tls: true,
      sentinelUsername: undefined,
      sentinelPassword: 'pw-sentinel',
    });
  });

  it.each([
    ['http://h:1', /expected redis:\/\/host:port\/db/],
    ['redis://a:1,b:2', /several hosts need \?cluster=true .* or redis\+sentinel:\/\//],
    ['redis://a:1,b:2/?cluster=yes', /cluster= must be true or false/],
    ['redis://a:1/?cluster=true&db=1', /unknown URL parameter "db"; this form takes cluster/],
    ['redis://a:1,b:2/3?cluster=true', /only database 0/],
    ['redis+sentinel://s1:26379,s2:26379', /names its master as the path/],
    ['redis+sentinel://s1/a/b', /names its master as the path/],
    ['redis://h:70000', /port of h must be 1-65535/],
    ['redis://h/16', /database must be a number 0-15/],
    ['redis://h,,i/?cluster=true', /empty host/],
    ['redis://h_/x?', /database must be/],
  ])('refuses %s with one clear message', (url, message) => {
    expect(() => parseRedisUrl(url)).toThrow(message);
  });

  it('never puts a password in its errors, and registers every password for masking', () => {
    const bad = [
      'redis://bot:pw-one%21@a:1,b:2',
      'redis+sentinel://:pw-two@s1:26379',
      'redis+sentinel://s1/m?sentinelPassword=pw-three&x=1',
      'redis://:pw-four@h:99999',
    ];
    for (const url of bad) {
      let message = '';
      try {
        parseRedisUrl(url);
      } catch (error) {
        message = String(error);
      }
      expect(message).not.toBe('');
      expect(message).not.toMatch(/pw-/);
    }
    for (const secret of ['pw-one%21', 'pw-one!', 'pw-two', 'pw-three', 'pw-four']) {
      expect(maskSecrets(`AUTH ${secret} failed`)).toBe('AUTH [REDACTED] failed');
    }
  });
});
