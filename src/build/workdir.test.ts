import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createWorkDir, withWorkDir } from './workdir.ts';

const exists = (p: string) =>
  stat(p).then(
    () => true,
    () => false,
  );

describe('work folders', async () => {
  const parent = await mkdtemp(path.join(os.tmpdir(), 'kiln-workdir-test-'));
  afterAll(() => rm(parent, { recursive: true, force: true }));

  it('are private (0700) and removed after a successful job', async () => {
    let seen = '';
    await withWorkDir({ parent, name: 'hello 1.0/../amd64', keepOnFailure: true }, async (dir) => {
      seen = dir;
      expect((await stat(dir)).mode & 0o777).toBe(0o700);
      expect(path.dirname(dir)).toBe(parent);
      await writeFile(path.join(dir, 'x'), 'y');
    });
    expect(await exists(seen)).toBe(false);
  });

  it('are kept on failure when asked, and removed otherwise', async () => {
    let kept = '';
    await expect(
      withWorkDir({ parent, name: 'keep', keepOnFailure: true }, async (dir) => {
        kept = dir;
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect(await exists(kept)).toBe(true);

    const work = await createWorkDir({ parent, name: 'drop', keepOnFailure: false });
    expect(await work.close('failed')).toEqual({ kept: false });
    expect(await exists(work.dir)).toBe(false);
  });
});
