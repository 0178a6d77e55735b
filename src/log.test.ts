import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger, registerSecret } from './log.ts';

function capture() {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(chunk.toString());
      cb();
    },
  });
  return { lines, stream };
}

describe('the logger', () => {
  it('redacts tokens, passwords and keys by field name, at any depth the config names', () => {
    const { lines, stream } = capture();
    const log = createLogger({ level: 'info' }, stream);
    log.info(
      {
        token: 'ghp_abcdef123456',
        config: { githubToken: 'ghp_abcdef123456', signingKeyPassword: 'hunter22' },
        req: { headers: { authorization: 'Bearer xyz12345' } },
      },
      'hello',
    );
    const text = lines.join('');
    expect(text).toContain('hello');
    expect(text).not.toContain('ghp_abcdef123456');
    expect(text).not.toContain('hunter22');
    expect(text).not.toContain('xyz12345');
    expect(text).toContain('[REDACTED]');
  });

  it('masks a registered secret wherever it appears, in messages and error text too', () => {
    const { lines, stream } = capture();
    const log = createLogger({ level: 'info' }, stream);
    registerSecret('tok-9f8e7d6c5b4a');
    log.error(
      { err: new Error('GET https://x/?access_token=tok-9f8e7d6c5b4a failed') },
      'token tok-9f8e7d6c5b4a rejected',
    );
    const text = lines.join('');
    expect(text).not.toContain('tok-9f8e7d6c5b4a');
    expect(text).toContain('rejected');
  });
});
