import path from 'node:path';
import { Readable } from 'node:stream';
import fc from 'fast-check';
import tar from 'tar-stream';
import { describe, expect, it } from 'vitest';
import { PermanentError } from '../errors.ts';
import { checkLayerPath, symlinkEscapes, writeTarLayer, type LayerEntry } from './tar.ts';

/** Path-ish strings made of the pieces that matter: `..`, `.`, empty segments, slashes, NUL. */
const segment = fc.constantFrom('a', 'b', 'etc', '..', '.', '', '.wh.x', '...', 'a\0b', ' ');
const pathish = fc.oneof(
  fc.array(segment, { minLength: 1, maxLength: 5 }).map((s) => s.join('/')),
  fc.string(),
);

function refusedOrKept(p: string): string | undefined {
  try {
    return checkLayerPath(p, 'layer');
  } catch (error) {
    expect(error).toBeInstanceOf(PermanentError);
    return undefined;
  }
}

describe('layer path checks, by property', () => {
  it('keeps only paths that stay strictly inside any root, unchanged', () => {
    fc.assert(
      fc.property(pathish, (p) => {
        const kept = refusedOrKept(p);
        if (kept === undefined) return;
        expect(kept).toBe(p);
        expect(path.posix.normalize(p)).toBe(p);
        expect(path.posix.resolve('/root', p).startsWith('/root/')).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });

  it('says a relative symlink does not escape only when it resolves inside the root', () => {
    const safePath = fc
      .array(fc.constantFrom('a', 'b', 'c'), { minLength: 1, maxLength: 4 })
      .map((s) => s.join('/'));
    const target = fc
      .array(fc.constantFrom('a', '..', '.', '', 'b'), { minLength: 1, maxLength: 6 })
      .map((s) => s.join('/'));
    fc.assert(
      fc.property(safePath, target, (link, to) => {
        if (symlinkEscapes(link, to)) return;
        // An absolute target is read from the container's root (`..` stops there), a relative one
        // from the link's folder.
        const resolved = to.startsWith('/')
          ? path.posix.join('/root', path.posix.resolve('/', to))
          : path.posix.resolve('/root', path.posix.dirname(link), to);
        expect(resolved === '/root' || resolved.startsWith('/root/')).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });
});

async function readBack(tarBytes: Buffer): Promise<{ name: string; type: string; data: string }[]> {
  const out: { name: string; type: string; data: string }[] = [];
  const extract = tar.extract();
  extract.on('entry', (header, stream, next) => {
    const chunks: Buffer[] = [];
    stream.on('data', (c: unknown) => {
      if (Buffer.isBuffer(c)) chunks.push(c);
    });
    stream.on('end', () => {
      out.push({
        name: header.name,
        type: header.type ?? '',
        data: Buffer.concat(chunks).toString(),
      });
      next();
    });
  });
  const done = new Promise<void>((resolve, reject) => {
    extract.on('finish', resolve);
    extract.on('error', reject);
  });
  Readable.from([tarBytes]).pipe(extract);
  await done;
  return out;
}

describe('writeTarLayer, by property', () => {
  const entry: fc.Arbitrary<LayerEntry> = fc.oneof(
    fc.record({
      path: pathish,
      type: fc.constant('file' as const),
      mode: fc.constant(0o644),
      data: fc.string({ maxLength: 20 }).map((s) => Buffer.from(s)),
    }),
    fc.record({ path: pathish, type: fc.constant('directory' as const), mode: fc.constant(0o755) }),
    fc.record({
      path: pathish,
      type: fc.constant('symlink' as const),
      mode: fc.constant(0o777),
      linkname: pathish,
    }),
  );

  it('writes a sorted tar of exactly the entries, or refuses with a PermanentError', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(entry, { maxLength: 6 }), async (entries) => {
        let layer;
        try {
          layer = await writeTarLayer(entries, { mtime: 0, what: 'layer' });
        } catch (error) {
          expect(error).toBeInstanceOf(PermanentError);
          return;
        }
        const read = await readBack(layer.tar);
        const sorted = [...entries].sort((a, b) =>
          a.path < b.path ? -1 : a.path > b.path ? 1 : 0,
        );
        expect(read.map((e) => e.name)).toEqual(
          sorted.map((e) => (e.type === 'directory' ? `${e.path}/` : e.path)),
        );
        expect(read.map((e) => e.data)).toEqual(sorted.map((e) => e.data?.toString() ?? ''));
      }),
      { numRuns: 300 },
    );
  });
});
