import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hostArch } from '../../src/build/host-arch.ts';
import { makeDebianRepo, type DebianTestRepo } from '../helpers/debian-repo.ts';

/*
 * `kiln build` of a Debian recipe loads the Debian source and builder and none of the others
 * (issue 15): the upstream and builder registries import a module only when a recipe uses it.
 * The CLI runs as a process with test/cli/loaded-modules-hook.mjs, which records every module
 * node loads; hermetic, against a local signed Debian repository.
 */

const repoRoot = path.resolve(import.meta.dirname, '../..');
const hook = path.join(repoRoot, 'test/cli/loaded-modules-hook.mjs');
const src = (p: string) => `${repoRoot}/src/${p}`;

/** Loaded by a Debian recipe's build: proves the trace sees the registries' dynamic imports. */
const expected = ['upstream/debian/index.ts', 'build/debian/index.ts'].map(src);
/** Modules of sources and builders a Debian recipe does not use. */
const unrelated = [
  ...['github', 'npm', 'pypi', 'crates', 'go', 'oci'].map((s) => src(`upstream/${s}/index.ts`)),
  src('build/dockerfile/index.ts'),
  src('build/dockerfile/runners/buildah.ts'),
  src('build/dockerfile/runners/buildkit.ts'),
  src('build/apko/index.ts'),
  // A recipe without tests or `files` runs no tool: no sandbox, no fetch-files, no execa.
  src('build/sandbox-tests.ts'),
  src('build/dockerfile/fetch-files.ts'),
  src('sandbox/index.ts'),
];

describe('kiln build of a Debian recipe', () => {
  let repo: DebianTestRepo;
  let work: string;
  let recipe: string;

  beforeAll(async () => {
    repo = await makeDebianRepo([{ name: 'hello', version: '1.0' }], { archs: [hostArch()] });
    work = await mkdtemp(path.join(os.tmpdir(), 'kiln-lazy-imports-'));
    recipe = path.join(work, 'hello.yaml');
    await writeFile(
      recipe,
      `name: hello
description: one package (kiln build lazy imports test)
license: MIT
upstream:
  debian: { package: hello, suite: stable }
versions:
  scheme: debian
build:
  builder: debian
  archs: [${hostArch()}]
  contents:
    suites: [stable]
    packages: [hello]
`,
    );
  }, 120_000);
  afterAll(async () => {
    await repo?.close();
    if (work) await rm(work, { recursive: true, force: true });
  });

  /** `kiln build` with the trace hook after `preload`; the URLs of the modules it loaded. */
  async function tracedBuild(name: string, preload: string[], entry: string): Promise<string[]> {
    const trace = path.join(work, `${name}.modules`);
    const run = await execa(
      'node',
      [...preload.flatMap((p) => ['--import', p]), '--import', hook, entry, 'build', recipe],
      {
        cwd: repoRoot,
        env: {
          ...Object.fromEntries(
            Object.entries(process.env).filter(([k]) => !k.startsWith('KILN_')),
          ),
          KILN_TRACE_MODULES: trace,
          KILN_STATE_DIR: path.join(work, 'state'),
          KILN_CACHE_DIR: path.join(work, 'cache'),
          KILN_DEBIAN_MIRROR: repo.url,
          KILN_DEBIAN_SECURITY_MIRROR: repo.url,
          KILN_DEBIAN_KEYRING: repo.keyring,
          KILN_LOG_LEVEL: 'warn',
        },
        extendEnv: false,
        reject: false,
        timeout: 300_000,
      },
    );
    expect(run.exitCode, run.stderr).toBe(0);
    expect(run.stdout).toContain('hello 1.0-r0');
    return (await readFile(trace, 'utf8')).split('\n').map((u) => u.replace(/^file:\/\//, ''));
  }

  it('from the sources: loads the Debian source and builder, no other source or builder', async () => {
    const loaded = await tracedBuild('source', ['tsx'], 'src/cli.ts');
    for (const file of expected) expect(loaded).toContain(file);
    expect(loaded.filter((f) => unrelated.includes(f))).toEqual([]);
    expect(loaded.filter((f) => /\/node_modules\/(@octokit|execa)\//.test(f))).toEqual([]);
  }, 300_000);

  it('from bin/kiln.js (the compiled CLI when dist/ is current): loads no octokit or execa', async () => {
    const loaded = await tracedBuild('bin', [], 'bin/kiln.js');
    expect(loaded.some((f) => f.includes('/node_modules/tar-stream/'))).toBe(true);
    expect(loaded.filter((f) => /\/node_modules\/(@octokit|execa)\//.test(f))).toEqual([]);
  }, 300_000);
});
