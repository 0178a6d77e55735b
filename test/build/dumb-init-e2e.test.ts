import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hostArch } from '../../src/build/host-arch.ts';
import { hostAptSources } from '../../src/host-config/apt.ts';
import { recipeSchema } from '../../src/recipe/schema.ts';
import { startLocalGithub, type LocalGithub } from '../servers/github/server.ts';
import { testCacheDir, testRedisUrl, testRegistryHost, uniqueName } from '../helpers/stack.ts';

/*
 * The source-built recipe end to end, as a user runs it: `kiln build --push` of kiln's own bases
 * (static and c-toolchain, from the real Debian archive), then of dumb-init, whose release
 * archive (`github:Yelp/dumb-init/archive/v${version}.tar.gz`) comes from the local GitHub server
 * that KILN_GITHUB_API_URL names, and `kiln verify` of what was published.
 *
 * The archive's bytes: GitHub cannot be reached, but Debian's dumb-init_1.2.5.orig.tar.gz is the
 * same file (its sha256 in trixie's signed Sources index is the one the recipe pins for GitHub's
 * v1.2.5 archive). It is fetched once per run from the host's Debian mirror into the run's cache
 * folder, checked against the recipe's pin, and served as GitHub's archive.
 */

const repoRoot = path.resolve(import.meta.dirname, '..', '..');
const version = '1.2.5';

async function dumbInitRecipe() {
  return recipeSchema.parse(
    parse(await readFile(path.join(repoRoot, 'recipes', 'dumb-init.yaml'), 'utf8')),
  );
}

/** The host's (non-security) Debian mirror, from KILN_DEBIAN_MIRROR or the apt sources. */
async function debianMirror(): Promise<string> {
  const configured = process.env.KILN_DEBIAN_MIRROR?.split(/[\s,]+/).find(Boolean);
  const host = (await hostAptSources()).find((s) => !s.suites.some((x) => x.endsWith('-security')));
  const mirror = configured ?? host?.uri;
  if (!mirror) throw new Error('no Debian mirror in KILN_DEBIAN_MIRROR or the apt sources');
  return mirror.replace(/\/+$/, '');
}

/** Debian's upstream tarball of dumb-init, once per run, checked against the recipe's pin. */
async function upstreamTarball(expectedSha256: string): Promise<Buffer> {
  const file = path.join(testCacheDir(), 'sources', `dumb-init_${version}.orig.tar.gz`);
  const cached = await readFile(file).catch(() => undefined);
  const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
  if (cached && sha(cached) === expectedSha256) return cached;
  const url = `${await debianMirror()}/pool/main/d/dumb-init/dumb-init_${version}.orig.tar.gz`;
  const response = await fetch(url);
  if (!response.ok) throw new Error(`fetching ${url}: HTTP ${response.status}`);
  const bytes = Buffer.from(await response.arrayBuffer());
  if (sha(bytes) !== expectedSha256)
    throw new Error(`${url} has sha256 ${sha(bytes)}, the recipe pins ${expectedSha256}`);
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(`${file}.tmp`, bytes);
  await rename(`${file}.tmp`, file);
  return bytes;
}

interface BuildJson {
  recipe: string;
  version: string;
  archs: { arch: string; tests: { name: string; status: string; note?: string }[] }[];
  published?: { digest: string; tags: string[] };
}

describe.skipIf(hostArch() !== 'amd64')('dumb-init from source, end to end', () => {
  let github: LocalGithub;
  let work: string;
  let env: Record<string, string>;
  const namespace = uniqueName('kiln-e2e');

  beforeAll(async () => {
    work = await mkdtemp(path.join(os.tmpdir(), 'kiln-dumb-init-'));
    const recipe = await dumbInitRecipe();
    const pin = recipe.build.files?.[0]?.sha256 ?? '';
    github = await startLocalGithub();
    github.state.addRepo('Yelp/dumb-init', { releases: 0, tags: 0 });
    // v1.2.5's real release date: past the recipe's cooldown, so the upstream picks it.
    github.state.publish('Yelp/dumb-init', `v${version}`, {
      at: new Date('2021-01-30T00:21:44Z'),
    });
    github.archives.add('Yelp/dumb-init', `v${version}`, await upstreamTarball(pin));
    // The host's Debian and npm settings pass through; every other KILN_* is this test's own.
    const inherited = Object.fromEntries(
      Object.entries(process.env).filter(
        ([k]) => (!k.startsWith('KILN_') || k.startsWith('KILN_DEBIAN_')) && k !== 'GITHUB_TOKEN',
      ),
    );
    env = {
      ...inherited,
      KILN_CACHE_DIR: testCacheDir(),
      KILN_STATE_DIR: path.join(work, 'state'),
      KILN_REGISTRY: `${testRegistryHost()}/${namespace}`,
      KILN_REDIS_URL: testRedisUrl(),
      KILN_QUEUE_PREFIX: namespace,
      KILN_GITHUB_API_URL: github.apiUrl,
      KILN_SIGNING_KEY: path.join(work, 'cosign.key'),
      KILN_LOG_LEVEL: 'warn',
    };
    await kiln(['keygen', '--out', path.join(work, 'cosign')]);
  });

  afterAll(async () => {
    await github?.close();
    await rm(work, { recursive: true, force: true });
  });

  async function kiln(args: string[]) {
    const run = await execa(process.execPath, [path.join(repoRoot, 'bin', 'kiln.js'), ...args], {
      cwd: repoRoot,
      env,
      extendEnv: false,
      reject: false,
      timeout: 15 * 60_000,
    });
    expect(run.exitCode, `kiln ${args.join(' ')}\n${run.stdout}\n${run.stderr}`).toBe(0);
    return run.stdout;
  }

  async function build(recipe: string): Promise<BuildJson> {
    const out = await kiln([
      'build',
      `recipes/${recipe}.yaml`,
      '--arch',
      'amd64',
      '--push',
      '--json',
      '--out',
      path.join(work, 'out', recipe),
    ]);
    return JSON.parse(out) as BuildJson;
  }

  it(
    'builds static and c-toolchain, then dumb-init on them from the local GitHub, tests, publishes and verifies it',
    { timeout: 20 * 60_000 },
    async () => {
      const [staticImage, toolchain] = [await build('static'), await build('c-toolchain')];
      expect(staticImage.published?.tags).toContain('latest');
      // gcc runs in an image without base-files: its /lib64 interpreter resolves (merged /usr).
      expect(toolchain.archs[0]?.tests).toEqual([{ name: 'compiler', status: 'passed' }]);

      const dumbInit = await build('dumb-init');
      expect(dumbInit.version).toBe(version);
      expect(dumbInit.archs[0]?.tests).toEqual([{ name: 'version', status: 'passed' }]);
      expect(github.archives.downloads.get(`yelp/dumb-init@v${version}`)).toBe(1);
      const digest = dumbInit.published?.digest ?? '';
      expect(dumbInit.published?.tags).toEqual(expect.arrayContaining([`${version}-r0`, version]));

      const ref = `${testRegistryHost()}/${namespace}/dumb-init@${digest}`;
      const verified = JSON.parse(
        await kiln(['verify', ref, '--key', path.join(work, 'cosign.pub'), '--json']),
      ) as { verified: boolean; digest: string; signatures: number; provenance: unknown };
      expect(verified).toMatchObject({
        verified: true,
        digest,
        signatures: 1,
        provenance: {
          upstreamVersion: version,
          builderId: 'https://kiln.dev/builders/dockerfile',
        },
      });
    },
  );
});
