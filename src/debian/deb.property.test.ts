import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import tar from 'tar-stream';
import { describe, expect, it } from 'vitest';
import { PermanentError } from '../errors.ts';
import { readDeb } from './deb.ts';

async function tarOf(files: Record<string, string>): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  pack.on('data', (c: unknown) => {
    if (Buffer.isBuffer(c)) chunks.push(c);
  });
  const done = new Promise<void>((resolve) => pack.on('end', resolve));
  for (const [name, body] of Object.entries(files)) pack.entry({ name, mode: 0o644 }, body);
  pack.finalize();
  await done;
  return Buffer.concat(chunks);
}

function ar(members: [string, Buffer][]): Buffer {
  const parts: Buffer[] = [Buffer.from('!<arch>\n')];
  for (const [name, data] of members) {
    const header = `${name.padEnd(16)}${'0'.padEnd(12)}${'0'.padEnd(6)}${'0'.padEnd(6)}${'100644'.padEnd(8)}${String(data.length).padEnd(10)}\`\n`;
    parts.push(Buffer.from(header, 'latin1'), data);
    if (data.length % 2) parts.push(Buffer.from('\n'));
  }
  return Buffer.concat(parts);
}

const deb = async () =>
  ar([
    ['debian-binary', Buffer.from('2.0\n')],
    ['control.tar.gz', gzipSync(await tarOf({ './control': 'Package: a\nVersion: 1\n' }))],
    ['data.tar.gz', gzipSync(await tarOf({ './usr/bin/a': '#!/bin/sh\n', './etc/a.conf': 'x' }))],
  ]);

describe('readDeb on arbitrary input', () => {
  it('reads a well-formed .deb', async () => {
    const contents = await readDeb(await deb(), 'a.deb');
    expect(contents.control.get('control')?.toString()).toContain('Package: a');
    expect(contents.data.map((e) => e.path)).toEqual(['usr/bin/a', 'etc/a.conf']);
  });

  it('gives contents or a PermanentError naming the .deb for damaged and random bytes', async () => {
    const good = await deb();
    const damaged = fc
      .tuple(fc.nat(), fc.uint8Array({ minLength: 1, maxLength: 8 }), fc.boolean())
      .map(([at, junk, cut]) => {
        const i = at % good.length;
        return cut
          ? good.subarray(0, i)
          : Buffer.concat([good.subarray(0, i), Buffer.from(junk), good.subarray(i + junk.length)]);
      });
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          damaged,
          fc.uint8Array({ maxLength: 600 }).map((a) => Buffer.from(a)),
        ),
        async (bytes) => {
          try {
            await readDeb(bytes, 'fuzz.deb');
          } catch (error) {
            expect(error, String(error)).toBeInstanceOf(PermanentError);
            expect((error as Error).message).toMatch(/fuzz\.deb/);
          }
        },
      ),
      { numRuns: 400 },
    );
  });
});
