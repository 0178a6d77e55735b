import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, parseDuration } from './config.ts';
import { createLogger } from './log.ts';

describe('loadConfig', () => {
  it('gives the single-machine defaults when nothing is set', () => {
    const config = loadConfig({});
    expect(config.redisUrl).toBeUndefined();
    expect(config.registry).toBeUndefined();
    expect(config.pollIntervalMs).toBe(5 * 60_000);
    expect(config.queuePrefix).toBe('kiln');
    expect(config.dockerfileBackend).toBe('buildah');
    expect(config.allowUnsigned).toBe(false);
  });

  it('parses every kind of value', () => {
    const config = loadConfig({
      KILN_REDIS_URL: 'redis://127.0.0.1:6390',
      KILN_REGISTRY: '127.0.0.1:5000/kiln',
      KILN_CONCURRENCY: '3',
      KILN_POLL_INTERVAL: '90s',
      KILN_BUILD_TIMEOUT: '2h',
      KILN_ALLOW_UNSIGNED: 'yes',
      KILN_REGISTRY_INSECURE: 'reg.internal:5000, other:80',
      SOURCE_DATE_EPOCH: '1700000000',
      KILN_GITHUB_API_URL: 'https://ghe.example/api/v3/',
    });
    expect(config.redisUrl).toBe('redis://127.0.0.1:6390');
    expect(config.registry).toBe('127.0.0.1:5000/kiln');
    expect(config.concurrency).toBe(3);
    expect(config.pollIntervalMs).toBe(90_000);
    expect(config.buildTimeoutMs).toBe(7_200_000);
    expect(config.allowUnsigned).toBe(true);
    expect(config.insecureRegistries).toEqual(['reg.internal:5000', 'other:80']);
    expect(config.sourceDateEpoch).toBe(1_700_000_000);
    expect(config.githubApiUrl).toBe('https://ghe.example/api/v3');
  });

  it('names each bad variable on its own line, and all of them at once', () => {
    let error: unknown;
    try {
      loadConfig({
        KILN_CONCURRENCY: 'many',
        KILN_REDIS_URL: 'not a url',
        KILN_LOG_LEVEL: 'loud',
        KILN_POLL_INTERVAL: '5 minutes',
      });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const lines = (error as ConfigError).message.split('\n');
    expect(lines).toHaveLength(4);
    expect(lines.map((l) => l.split(':')[0]).sort()).toEqual([
      'KILN_CONCURRENCY',
      'KILN_LOG_LEVEL',
      'KILN_POLL_INTERVAL',
      'KILN_REDIS_URL',
    ]);
    expect(lines.find((l) => l.startsWith('KILN_POLL_INTERVAL'))).toContain('duration');
  });

  it('reads several Debian mirrors, tried in order, and names a bad one', () => {
    const c = loadConfig({
      KILN_DEBIAN_MIRROR: 'http://a.invalid/debian, http://b.invalid/debian',
    });
    expect(c.debianMirror).toEqual(['http://a.invalid/debian', 'http://b.invalid/debian']);
    expect(() => loadConfig({ KILN_DEBIAN_MIRROR: 'http://a.invalid,not-a-url' })).toThrow(
      /^KILN_DEBIAN_MIRROR: .*URL/,
    );
  });

  it('refuses half of a credential pair without printing the half it got', () => {
    expect(() => loadConfig({ KILN_REGISTRY_USERNAME: 'bot' })).toThrow(
      /KILN_REGISTRY_USERNAME: set together with KILN_REGISTRY_PASSWORD/,
    );
    try {
      loadConfig({ KILN_REGISTRY_PASSWORD: 's3cr3t-value' });
    } catch (e) {
      expect(String(e)).not.toContain('s3cr3t-value');
    }
  });

  it('requires a BuildKit address when BuildKit is chosen', () => {
    expect(() => loadConfig({ KILN_DOCKERFILE_BACKEND: 'buildkit' })).toThrow(/KILN_BUILDKIT_ADDR/);
  });
});

describe('KILN_REDIS_URL and KILN_QUEUE_PREFIX', () => {
  it('takes a single server, a Cluster and a Sentinel group, each with or without TLS', () => {
    for (const url of [
      'redis://127.0.0.1:6379/1',
      'rediss://user:pw@redis.internal:6380',
      'redis://a:7000,b:7001,c:7002/?cluster=true',
      'rediss://a:7000,b:7001/?cluster=true',
      'redis+sentinel://s1:26379,s2:26379,s3:26379/kiln',
      'rediss+sentinel://:pw@s1,s2/kiln?db=2',
    ]) {
      expect(loadConfig({ KILN_REDIS_URL: url }).redisUrl).toBe(url);
    }
  });

  it('braces the prefix on a Cluster, so every kiln key hashes to one slot', () => {
    const cluster = 'redis://a:7000,b:7001/?cluster=true';
    expect(loadConfig({ KILN_REDIS_URL: cluster }).queuePrefix).toBe('{kiln}');
    expect(loadConfig({ KILN_REDIS_URL: cluster, KILN_QUEUE_PREFIX: 'prod' }).queuePrefix).toBe(
      '{prod}',
    );
    expect(
      loadConfig({ KILN_REDIS_URL: cluster, KILN_QUEUE_PREFIX: '{kiln}:prod' }).queuePrefix,
    ).toBe('{kiln}:prod');
    // Elsewhere a prefix is kept as written, braces or not.
    expect(loadConfig({ KILN_REDIS_URL: 'redis://h:1' }).queuePrefix).toBe('kiln');
    expect(loadConfig({ KILN_QUEUE_PREFIX: '{kiln}' }).queuePrefix).toBe('{kiln}');
    expect(
      loadConfig({ KILN_REDIS_URL: 'redis+sentinel://s:1/m', KILN_QUEUE_PREFIX: 'x' }).queuePrefix,
    ).toBe('x');
  });

  it.each(['a b', 'x{y}', '{}', '{a}{b}', 'kiln*'])('refuses the prefix %j', (prefix) => {
    expect(() => loadConfig({ KILN_QUEUE_PREFIX: prefix })).toThrow(
      /^KILN_QUEUE_PREFIX: expected letters, digits.*hash tag such as \{kiln\}$/,
    );
  });

  it('names what is wrong with a bad URL in one line, without its password', () => {
    let error: unknown;
    try {
      loadConfig({ KILN_REDIS_URL: 'redis://bot:hunter2-cfg@a:1,b:2/' });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems).toEqual([
      expect.stringMatching(/^KILN_REDIS_URL: several hosts need \?cluster=true/),
    ]);
    expect(String(error)).not.toContain('hunter2-cfg');
  });

  it('masks the URL’s passwords in every log line, as written and decoded', () => {
    loadConfig({
      KILN_REDIS_URL: 'redis+sentinel://:m%2Fpass-cfg@s1/kiln?sentinelPassword=s-pass-cfg',
    });
    const lines: string[] = [];
    const log = createLogger({ level: 'info' }, { write: (l: string) => lines.push(l) });
    log.info(
      { url: 'redis+sentinel://:m%2Fpass-cfg@s1/kiln', password: 'x' },
      'connecting with m/pass-cfg and s-pass-cfg',
    );
    const text = lines.join('');
    expect(text).toContain('connecting with');
    for (const secret of ['m%2Fpass-cfg', 'm/pass-cfg', 's-pass-cfg']) {
      expect(text).not.toContain(secret);
    }
  });
});

describe('parseDuration', () => {
  it.each([
    ['500ms', 500],
    ['30', 30_000],
    ['5m', 300_000],
    ['1d', 86_400_000],
  ])('%s is %d ms', (text, ms) => expect(parseDuration(text)).toBe(ms));
});
