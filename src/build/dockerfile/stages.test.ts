import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { dockerfileStages, outputBases } from './stages.ts';

describe('which bases reach the output image', () => {
  it('dumb-init: the toolchain is build-only, static ships', async () => {
    const text = await readFile(
      path.join(import.meta.dirname, '../../../recipes/dumb-init/Dockerfile'),
      'utf8',
    );
    expect([...outputBases(text, ['toolchain', 'static'], 'runtime')]).toEqual(['static']);
    expect([...outputBases(text, ['toolchain', 'static'], 'build')]).toEqual(['toolchain']);
  });

  it('follows FROM <stage> chains from the target, or from the last stage', () => {
    const text = [
      'FROM --platform=$BUILDPLATFORM tools AS build',
      'RUN make',
      'from base as Deps',
      'FROM deps AS final',
      'COPY --from=build /out /out',
    ].join('\n');
    expect(dockerfileStages(text).map((s) => s.from)).toEqual(['tools', 'base', 'deps']);
    expect([...outputBases(text, ['tools', 'base'])]).toEqual(['base']);
    expect([...outputBases(text, ['tools', 'base'], 'FINAL')]).toEqual(['base']);
  });

  it('treats every base as shipped when the target is unknown', () => {
    expect([...outputBases('FROM a AS x\n', ['a', 'b'], 'nope')].sort()).toEqual(['a', 'b']);
  });
});
