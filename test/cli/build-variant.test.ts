import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hostArch } from '../../src/build/host-arch.ts';
import type { DebianTestRepo } from '../helpers/debian-repo.ts';
import { envtoolRecipe, makeEnvtoolRepo } from '../helpers/envtool.ts';

/*
 * `kiln build <recipe> --variant <name>` as a process, hermetic: the envtool fixture's local
 * signed Debian repository (test/helpers/envtool.ts) with one more package, `envtool-doc`, that
 * only the recipe's `docs` variant installs. An unknown variant is a usage error that lists the
 * recipe's variants.
 */

interface BuildJson {
  recipe: string;
  layout: string;
  archs: { arch: string; packages: number; tests: { name: string; status: string }[] }[];
}

describe.skipIf(hostArch() !== 'amd64')('kiln build --variant', () => {
  let repo: DebianTestRepo;
  let work: string;

  beforeAll(async () => {
    repo = await makeEnvtoolRepo({
      more: {
        suites: [],
        packages: [
          {
            name: 'envtool-doc',
            version: '1.0',
            suite: 'stable',
            files: { 'usr/share/doc/envtool-doc/README': 'envtool, documented\n' },
          },
        ],
      },
    });
    work = await mkdtemp(path.join(os.tmpdir(), 'kiln-build-variant-'));
    await mkdir(path.join(work, 'recipes'));
    await writeFile(
      path.join(work, 'recipes', 'envtool.yaml'),
      `${envtoolRecipe({ description: 'env with a docs variant (kiln build --variant test)' })}variants:\n  docs: { packages: [envtool-doc] }\n`,
    );
    await writeFile(
      path.join(work, 'recipes', 'plain.yaml'),
      envtoolRecipe({ name: 'plain', description: 'env without variants' }),
    );
  });
  afterAll(async () => {
    await repo?.close();
    if (work) await rm(work, { recursive: true, force: true });
  });

  const inherited = () =>
    Object.fromEntries(
      Object.entries(process.env).filter(
        ([k]) => !k.startsWith('KILN_') && k !== 'SOURCE_DATE_EPOCH',
      ),
    );
  const kiln = (args: string[]) =>
    execa('node', ['bin/kiln.js', ...args], {
      env: {
        ...inherited(),
        KILN_RECIPES_DIR: path.join(work, 'recipes'),
        KILN_STATE_DIR: path.join(work, 'state'),
        KILN_CACHE_DIR: path.join(work, 'cache'),
        KILN_DEBIAN_MIRROR: repo.url,
        KILN_DEBIAN_SECURITY_MIRROR: repo.url,
        KILN_DEBIAN_KEYRING: repo.keyring,
        KILN_LOG_LEVEL: 'warn',
      },
      extendEnv: false,
      reject: false,
      timeout: 600_000,
    });

  it('builds the variant <recipe>-<name>: its packages on top of the recipe’s, into out/<recipe>-<name>', async () => {
    const out = path.join(work, 'out-docs');
    const run = await kiln([
      'build',
      path.join(work, 'recipes', 'envtool.yaml'),
      '--variant',
      'docs',
      '--out',
      out,
      '--json',
    ]);
    expect(run.exitCode, run.stderr).toBe(0);
    const result = JSON.parse(run.stdout) as BuildJson;
    expect(result.recipe).toBe('envtool-docs');
    expect(result.archs.map((a) => a.arch)).toEqual(['amd64']);
    const lock = JSON.parse(await readFile(path.join(out, 'lockfile-amd64.json'), 'utf8')) as {
      packages: { name: string }[];
    };
    expect(lock.packages.map((p) => p.name).sort()).toEqual(['envtool', 'envtool-doc', 'libc-fake']);
    expect(result.archs[0]?.tests.map((t) => `${t.name}: ${t.status}`)).toEqual([
      'env runs in the image: passed',
    ]);
  }, 600_000);

  it('an unknown variant is a usage error that lists the recipe’s variants; a recipe without variants says so', async () => {
    const typo = await kiln(['build', path.join(work, 'recipes', 'envtool.yaml'), '--variant', 'doc']);
    expect(typo.exitCode).toBe(2);
    expect(typo.stderr).toContain('kiln build: recipe envtool has no variant "doc"; its variants: docs');
    const none = await kiln(['build', path.join(work, 'recipes', 'plain.yaml'), '--variant', 'dev']);
    expect(none.exitCode).toBe(2);
    expect(none.stderr).toContain('kiln build: recipe plain has no variants (--variant dev)');
  }, 120_000);
});
