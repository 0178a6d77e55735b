import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { PermanentError } from '../../errors.ts';
import { getRunner, runners } from './runners.ts';

const config = { buildkitAddr: 'unix:///run/buildkit/buildkitd.sock', registry: undefined };

describe('Dockerfile backend registry', () => {
  it('lists exactly the backend files under runners/', async () => {
    const files = (await readdir(path.join(import.meta.dirname, 'runners')))
      .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'))
      .map((f) => f.slice(0, -'.ts'.length));
    expect([...runners.keys()].sort()).toEqual(files.sort());
  });

  it('hands out backends whose id is their key', () => {
    for (const id of runners.keys()) expect(getRunner(id, config).id).toBe(id);
  });

  it('refuses an unknown backend as permanent, naming the known ones', () => {
    expect(() => getRunner('kaniko', config)).toThrow(PermanentError);
    expect(() => getRunner('kaniko', config)).toThrow(/buildah, buildkit/);
  });
});
