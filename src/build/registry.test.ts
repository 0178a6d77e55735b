import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../config.ts';
import { PermanentError } from '../errors.ts';
import { builders, getBuilder } from './registry.ts';

const here = path.dirname(fileURLToPath(import.meta.url));

describe('builder registry', () => {
  it('lists exactly the folders under src/build/ that hold an index.ts', async () => {
    const folders: string[] = [];
    for (const entry of await readdir(here, { withFileTypes: true })) {
      if (!entry.isDirectory()) continue;
      const hasIndex = await stat(path.join(here, entry.name, 'index.ts')).then(
        () => true,
        () => false,
      );
      if (hasIndex) folders.push(entry.name);
    }
    expect([...builders.keys()].sort()).toEqual(folders.sort());
  });

  it('hands out builders whose id is their key', () => {
    const config = loadConfig({});
    for (const id of builders.keys()) expect(getBuilder(id, config).id).toBe(id);
  });

  it('refuses an unknown builder as permanent, naming the known ones', () => {
    expect(() => getBuilder('kaniko', loadConfig({}))).toThrow(PermanentError);
    expect(() => getBuilder('kaniko', loadConfig({}))).toThrow(/apko, debian, dockerfile/);
  });
});
