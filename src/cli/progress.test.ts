import { describe, expect, it } from 'vitest';
import { createProgress } from './progress.ts';

function collector(isTTY: boolean) {
  const chunks: string[] = [];
  return { isTTY, columns: 80, write: (s: string) => chunks.push(s), text: () => chunks.join('') };
}

function clock() {
  let t = 0;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

describe('progress', () => {
  it('in a pipe: one line per stage, downloads by quarters, no colour codes', () => {
    const out = collector(false);
    const c = clock();
    const p = createProgress({ stream: out, stages: 3, now: c.now, env: {} });
    p.stage('resolving packages');
    c.advance(1500);
    p.done('142 packages');
    p.stage('downloading');
    for (let done = 0; done <= 4 * 1024 * 1024; done += 256 * 1024) p.update(done, 4 * 1024 * 1024);
    c.advance(61_000);
    p.stage('assembling');
    p.fail('layer 2: checksum mismatch');
    expect(out.text()).toBe(
      [
        '==> [1/3] resolving packages',
        '✓ resolving packages: 142 packages (1.5 s)',
        '==> [2/3] downloading',
        '    0% 0 B / 4.0 MiB',
        '    25% 1.0 MiB / 4.0 MiB',
        '    50% 2.0 MiB / 4.0 MiB',
        '    75% 3.0 MiB / 4.0 MiB',
        '    100% 4.0 MiB / 4.0 MiB',
        '✓ downloading (1 min 1 s)',
        '==> [3/3] assembling',
        '✗ assembling: layer 2: checksum mismatch (0 ms)',
        '',
      ].join('\n'),
    );
  });

  it('on a terminal: redraws one line, throttled, in colour unless NO_COLOR', () => {
    const out = collector(true);
    const c = clock();
    const p = createProgress({ stream: out, now: c.now, env: {} });
    p.stage('downloading');
    for (let i = 1; i <= 10; i++) {
      c.advance(30);
      p.update(i * 100, 1000);
    }
    p.done();
    const text = out.text();
    const redraws = text.split('\r\x1b[2K    [').length - 1;
    expect(redraws).toBeGreaterThan(1);
    expect(redraws).toBeLessThan(10); // throttled to ~10 a second
    expect(text).toContain('100% 1000 B / 1000 B');
    expect(text).toContain('\x1b[36m==>\x1b[39m');

    const plain = collector(true);
    const q = createProgress({ stream: plain, env: { NO_COLOR: '1' } });
    q.stage('x');
    q.done();
    expect(plain.text()).not.toContain('\x1b[3');
  });

  it('prints nothing when quiet', () => {
    const out = collector(true);
    const p = createProgress({ stream: out, quiet: true });
    p.stage('a');
    p.update(1, 2);
    p.info('hello');
    p.done();
    expect(out.text()).toBe('');
  });
});
