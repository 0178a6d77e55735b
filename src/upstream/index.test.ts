import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { sourceKeys } from '../recipe/schema.ts';
import { loadConfig } from '../config.ts';
import { log } from '../log.ts';
import { memoryValidatorCache } from './cache.ts';
import { loadSource, sourceFor, upstreamSources } from './index.ts';

const here = path.dirname(fileURLToPath(import.meta.url));

describe('source registry', () => {
  it('has exactly one entry per folder, keyed by the folder name', async () => {
    const folders = (await readdir(here, { withFileTypes: true }))
      .filter((d) => d.isDirectory())
      .map((d) => d.name)
      .sort();
    expect([...upstreamSources.keys()].sort()).toEqual(folders);
    for (const [id, source] of upstreamSources) expect(source.id).toBe(id);
  });

  it('covers every upstream key a recipe may use', () => {
    expect([...upstreamSources.keys()].sort()).toEqual([...sourceKeys].sort());
  });

  it('finds the source and reference of a recipe upstream', () => {
    expect(sourceFor({ github: 'o/r' })?.ref).toBe('o/r');
    expect(sourceFor({ npm: 'x' })?.source.id).toBe('npm');
    expect(sourceFor({ debian: { package: 'curl', suite: 'bookworm' } })?.ref).toBe(
      'bookworm/curl',
    );
    expect(sourceFor({})).toBeUndefined();
  });
});

describe('lazy source registry', () => {
  const samples = [
    { github: 'o/r' },
    { npm: 'left-pad' },
    { pypi: 'requests' },
    { crates: 'serde' },
    { go: 'golang.org/x/net' },
    { oci: 'docker.io/library/alpine' },
    { debian: { package: 'curl', suite: ['trixie', 'bookworm'] } },
    {},
  ];

  it("answers refOf and batching as each loaded source's own", async () => {
    for (const [id, lazy] of upstreamSources) {
      const real = await loadSource(id);
      expect(real.id).toBe(id);
      for (const upstream of samples) expect(lazy.refOf(upstream)).toBe(real.refOf(upstream));
      const ctx = {
        config: loadConfig({}),
        log,
        cache: memoryValidatorCache(),
        maxBodyBytes: 1,
        timeoutMs: 1,
      };
      expect(Boolean(lazy.open(ctx).fetchMany), id).toBe(Boolean(real.open(ctx).fetchMany));
    }
  });
});
