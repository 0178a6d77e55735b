import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, parseDuration } from './config.ts';

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

describe('parseDuration', () => {
  it.each([
    ['500ms', 500],
    ['30', 30_000],
    ['5m', 300_000],
    ['1d', 86_400_000],
  ])('%s is %d ms', (text, ms) => expect(parseDuration(text)).toBe(ms));
});
