import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { hostAptSources } from '../../src/host-config/apt.ts';
import { createLogger } from '../../src/log.ts';
import { memoryValidatorCache } from '../../src/upstream/cache.ts';
import { debianSource } from '../../src/upstream/debian/index.ts';
import { npmSource } from '../../src/upstream/npm/index.ts';
import type { SourceContext } from '../../src/upstream/types.ts';

/*
 * The npm and Debian sources against the real services, located through this host's own
 * configuration (npm config, apt sources) or KILN_NPM_REGISTRY / KILN_DEBIAN_MIRROR.
 */

const cacheDir = await mkdtemp(path.join(os.tmpdir(), 'kiln-live-'));
afterAll(() => rm(cacheDir, { recursive: true, force: true }));

function context(): SourceContext {
  return {
    config: { ...loadConfig(process.env), cacheDir },
    log: createLogger({ level: 'silent' }),
    cache: memoryValidatorCache(),
    maxBodyBytes: 64 * 1024 * 1024,
    timeoutMs: 60_000,
  };
}

describe('npm source (live)', () => {
  it('reads a real packument with publish times, then revalidates it', async () => {
    const client = npmSource.open(context());
    const item = { recipe: 'semver', ref: 'semver', upstream: { npm: 'semver' } };
    const first = await client.fetch(item);
    const v7 = first.releases.find((r) => r.version === '7.0.0');
    expect(v7?.publishedAt).toMatch(/^20\d\d-/);
    expect(v7?.checksums?.integrity).toMatch(/^sha512-/);
    const second = await client.fetch(item);
    expect(second.releases.map((r) => r.version)).toEqual(first.releases.map((r) => r.version));
  });
});

describe('debian source (live)', () => {
  it("reads a package's versions in the host's suite from the verified archive", async () => {
    const suite = (await hostAptSources())
      .flatMap((s) => s.suites)
      .find((s) => !/-(security|updates|backports)$/.test(s));
    expect(suite, 'the host has an apt source for a Debian release suite').toBeDefined();
    const client = debianSource.open(context());
    const item = {
      recipe: 'bash',
      ref: `${suite}/bash`,
      upstream: { debian: { package: 'bash', suite: suite ?? '' } },
    };
    const first = await client.fetch(item);
    expect(first.releases.length).toBeGreaterThan(0);
    expect(first.releases[0]?.version).toMatch(/^\d/);
    const second = await client.fetch(item);
    expect(second.unchanged).toBe(true);
  });
});
