import { describe, expect, it } from 'vitest';
import { PermanentError, TransientError } from './errors.ts';
import {
  HttpNotFoundError,
  HttpStatusError,
  httpStatusError,
  parseRetryAfter,
  safeMessage,
} from './http-errors.ts';
import { registerSecret } from './log.ts';

const headers = (values: Record<string, string>) => ({
  get: (name: string) => values[name] ?? null,
});

describe('httpStatusError', () => {
  it('makes 429 and 5xx transient, honouring Retry-After in seconds or as a date', () => {
    const limited = httpStatusError({
      what: 'fetching x',
      status: 429,
      headers: headers({ 'retry-after': '7' }),
    });
    expect(limited).toBeInstanceOf(TransientError);
    expect(limited).toMatchObject({ message: 'fetching x: HTTP 429', retryAfterMs: 7000 });
    const down = httpStatusError({ what: 'fetching x', status: 503, by: 'the mirror' });
    expect(down).toBeInstanceOf(TransientError);
    expect(down.message).toBe('fetching x: the mirror answered HTTP 503');
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(parseRetryAfter('Thu, 01 Jan 2026 00:00:30 GMT', now)).toBe(30_000);
    expect(parseRetryAfter('soon', now)).toBeUndefined();
  });

  it('makes 404/410 not-found and other answers permanent, with the status', () => {
    const missing = httpStatusError({ what: 'fetching x', status: 404 });
    expect(missing).toBeInstanceOf(HttpNotFoundError);
    expect(missing).not.toBeInstanceOf(TransientError);
    const refused = httpStatusError({ what: 'pushing y', status: 400, detail: 'BAD: no' });
    expect(refused).toBeInstanceOf(HttpStatusError);
    expect(refused).not.toBeInstanceOf(HttpNotFoundError);
    expect(refused).toMatchObject({ status: 400, message: 'pushing y: HTTP 400 (BAD: no)' });
    class Missing extends PermanentError {}
    const own = httpStatusError({
      what: 'fetching z',
      status: 410,
      notFound: (message) => new Missing(message),
    });
    expect(own).toBeInstanceOf(Missing);
    expect(own.message).toBe('fetching z: HTTP 410');
  });

  it('never puts URL credentials or a registered secret into the message', () => {
    registerSecret('s3cr3t-token-value');
    const error = httpStatusError({
      what: 'fetching https://user:hunter2@mirror.invalid/dists/x?a=b@c',
      status: 500,
      detail: 'token s3cr3t-token-value rejected',
    });
    expect(error.message).not.toMatch(/hunter2|user:|s3cr3t-token-value/);
    expect(error.message).toContain('https://mirror.invalid/dists/x?a=b@c');
    expect(safeMessage('ftp://a:b@h/p and http://h/q')).toBe('ftp://h/p and http://h/q');
  });
});
