import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PermanentError } from '../errors.ts';
import { readAr } from './ar.ts';

/** An ar archive as `ar` writes it: the magic, then 60-byte headers and even-padded data. */
function writeAr(members: { name: string; mtime: number; data: Buffer }[]): Buffer {
  const parts: Buffer[] = [Buffer.from('!<arch>\n', 'latin1')];
  for (const m of members) {
    const header =
      m.name.padEnd(16) +
      String(m.mtime).padEnd(12) +
      '0'.padEnd(6) +
      '0'.padEnd(6) +
      '100644'.padEnd(8) +
      String(m.data.length).padEnd(10) +
      '`\n';
    parts.push(Buffer.from(header, 'latin1'), m.data);
    if (m.data.length % 2 === 1) parts.push(Buffer.from('\n'));
  }
  return Buffer.concat(parts);
}

const member = fc.record({
  name: fc.stringMatching(/^[A-Za-z0-9._-]{1,15}$/),
  mtime: fc.integer({ min: 0, max: 2 ** 32 }),
  data: fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a)),
});

/** Only a result or a PermanentError: never another exception type. */
function outcome(bytes: Buffer): 'ok' | 'refused' {
  try {
    readAr(bytes, 'fuzz.deb');
    return 'ok';
  } catch (error) {
    expect(error).toBeInstanceOf(PermanentError);
    expect((error as Error).message).toMatch(/^fuzz\.deb/);
    return 'refused';
  }
}

describe('readAr on arbitrary input', () => {
  it('reads back what an ar writer wrote', () => {
    fc.assert(
      fc.property(fc.array(member, { maxLength: 5 }), (members) => {
        const read = readAr(writeAr(members), 'fuzz.deb');
        expect(read.map((m) => [m.name, m.mtime, m.data.toString('hex')])).toEqual(
          members.map((m) => [m.name, m.mtime, m.data.toString('hex')]),
        );
      }),
    );
  });

  it('gives a result or a PermanentError for random bytes, with or without the magic', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 400 }), fc.boolean(), (bytes, withMagic) => {
        const body = Buffer.from(bytes);
        outcome(withMagic ? Buffer.concat([Buffer.from('!<arch>\n'), body]) : body);
      }),
      { numRuns: 500 },
    );
  });

  it('refuses a mangled archive (a byte changed, or cut short) cleanly', () => {
    fc.assert(
      fc.property(
        fc.array(member, { minLength: 1, maxLength: 3 }),
        fc.nat(),
        fc.integer({ min: 0, max: 255 }),
        fc.boolean(),
        (members, at, byte, truncate) => {
          const bytes = writeAr(members);
          const i = 8 + (at % Math.max(1, bytes.length - 8));
          const mangled = truncate ? bytes.subarray(0, i) : Buffer.from(bytes);
          if (!truncate) mangled[i] = byte;
          outcome(mangled);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('reads member sizes as the decimal numbers ar writes, nothing else', () => {
    for (const size of ['0x10', '1e1', '+10', ' -0']) {
      const header = `${'m'.padEnd(16)}${'0'.padEnd(12)}${'0'.padEnd(6)}${'0'.padEnd(6)}${'100644'.padEnd(8)}${size.padEnd(10)}\`\n`;
      const archive = Buffer.concat([
        Buffer.from(`!<arch>\n${header}`, 'latin1'),
        Buffer.alloc(16),
      ]);
      expect(() => readAr(archive, 'fuzz.deb')).toThrow(/bad size for ar member m/);
    }
  });
});
