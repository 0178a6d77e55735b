import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hostArch } from '../../src/build/host-arch.ts';
import { hostEnvPackage } from '../debian/fixtures.ts';
import { makeDebianRepo, type DebianTestRepo, type FakePackage } from '../helpers/debian-repo.ts';
import { testRedisUrl, testRegistryHost, uniqueName } from '../helpers/stack.ts';

/*
 * `kiln up --once --verify` as a real process, hermetic: the recipe tracks a Debian package of a
 * local signed repository (dpkg-deb, apt-ftparchive, a throwaway gpg key), both mirrors and the
 * keyring come from KILN_DEBIAN_*, and images go to the test registry. Then a dependency of the
 * tracked package gets a security update in the repository: the next run is a nano update
 * (`-r1`) that moves the floating tags and leaves `-r0` where it was; the run after that builds
 * nothing. This runs src/pipeline/* end to end, from the queue to the registry.
 */

const version = '1.4-2';
const securityFix = '1.0+deb1u1';

const recipeYaml = `name: envtool
description: env from a local signed Debian repository (kiln end-to-end test)
license: MIT
upstream:
  debian: { package: envtool, suite: stable }
versions:
  scheme: debian
build:
  builder: debian
  archs: [amd64]
  contents:
    suites: [stable, stable-security]
    packages: [envtool]
  env:
    KILN_E2E: local-repository
test:
  - name: env runs in the image
    run: [/usr/bin/env]
    expect-output: KILN_E2E=local-repository
`;

/** libc-fake: the dependency of envtool whose update is the nano update. */
function libcFake(v: string, suite: string): FakePackage {
  return {
    name: 'libc-fake',
    version: v,
    suite,
    files: {
      'usr/share/doc/libc-fake/copyright':
        'Format: https://example.invalid/copyright-format/1.0/\n\nFiles: *\nCopyright: nobody\nLicense: LGPL-2.1+\n',
      'usr/share/libc-fake/version': `${v}\n`,
    },
  };
}

async function packages(withSecurityFix: boolean): Promise<FakePackage[]> {
  return [
    { ...(await hostEnvPackage(version)), suite: 'stable' },
    libcFake('1.0', 'stable'),
    // The security suite is never empty: an unrelated package lives there from the start.
    { name: 'unrelated', version: '1.0', suite: 'stable-security' },
    ...(withSecurityFix ? [libcFake(securityFix, 'stable-security')] : []),
  ];
}

/** The SHA256 the suite's amd64 index lists for a package: which .deb a client would fetch. */
async function indexedSha256(repo: DebianTestRepo, suite: string, name: string): Promise<string> {
  const text = await readFile(
    path.join(repo.dir, 'dists', suite, 'main', 'binary-amd64', 'Packages'),
    'utf8',
  );
  const paragraph = text.split('\n\n').find((p) => p.startsWith(`Package: ${name}\n`));
  return /^SHA256: (\S+)$/m.exec(paragraph ?? '')?.[1] ?? `${name} not in ${suite}`;
}

interface Registry {
  host: string;
  repository: string;
}

/** The digest a tag points at, as the registry answers it (Docker-Content-Digest). */
async function tagDigest(r: Registry, tag: string): Promise<string> {
  const res = await fetch(`http://${r.host}/v2/${r.repository}/manifests/${tag}`, {
    method: 'HEAD',
    headers: {
      accept: 'application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json',
    },
  });
  expect(res.status, `HEAD ${r.repository}:${tag}`).toBe(200);
  return res.headers.get('docker-content-digest') ?? '';
}

/** name → version of the SPDX SBOM attested for `digest`, read as a consumer would (`.att` tag). */
async function sbomPackages(r: Registry, digest: string): Promise<Record<string, string>> {
  const base = `http://${r.host}/v2/${r.repository}`;
  const att = await fetch(`${base}/manifests/sha256-${digest.slice('sha256:'.length)}.att`, {
    headers: { accept: 'application/vnd.oci.image.manifest.v1+json' },
  });
  expect(att.status, `attestations of ${digest}`).toBe(200);
  const manifest = (await att.json()) as { layers: { digest: string }[] };
  const out: Record<string, string> = {};
  for (const layer of manifest.layers) {
    const envelope = (await (await fetch(`${base}/blobs/${layer.digest}`)).json()) as {
      payload: string;
    };
    const statement = JSON.parse(Buffer.from(envelope.payload, 'base64').toString('utf8')) as {
      predicateType: string;
      predicate: { packages?: { name: string; versionInfo: string }[] };
    };
    if (statement.predicateType !== 'https://spdx.dev/Document') continue;
    for (const p of statement.predicate.packages ?? []) out[p.name] = p.versionInfo;
  }
  return out;
}

describe.skipIf(hostArch() !== 'amd64')('kiln up --once against a local Debian repository', () => {
  let repo: DebianTestRepo;
  const dirs: string[] = [];
  beforeAll(async () => {
    repo = await makeDebianRepo(await packages(false), {
      suites: ['stable', 'stable-security'],
      archs: ['amd64'],
    });
  });
  afterAll(async () => {
    await repo?.close();
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  /** A recipes folder holding `recipe`, its own state, cache, queue prefix and registry namespace, and `kiln` run as a process. */
  async function setUp(recipe: string) {
    const work = await mkdtemp(path.join(os.tmpdir(), 'kiln-up-local-'));
    dirs.push(work);
    const recipes = path.join(work, 'recipes');
    const state = path.join(work, 'state');
    await mkdir(recipes, { recursive: true });
    await writeFile(path.join(recipes, 'envtool.yaml'), recipe);
    const namespace = uniqueName('local');
    const registry: Registry = { host: testRegistryHost(), repository: `${namespace}/envtool` };
    // No KILN_* setting or SOURCE_DATE_EPOCH of the caller leaks in: each part is named here.
    const inherited = Object.fromEntries(
      Object.entries(process.env).filter(
        ([k]) => !k.startsWith('KILN_') && k !== 'SOURCE_DATE_EPOCH',
      ),
    );
    const prefix = uniqueName('up-local');
    const kiln = (args: string[], queuePrefix = prefix) =>
      execa('node', ['bin/kiln.js', ...args], {
        env: {
          ...inherited,
          KILN_RECIPES_DIR: recipes,
          KILN_STATE_DIR: state,
          KILN_CACHE_DIR: path.join(work, 'cache'),
          KILN_REGISTRY: `${registry.host}/${namespace}`,
          KILN_REDIS_URL: testRedisUrl(),
          KILN_QUEUE_PREFIX: queuePrefix,
          KILN_DEBIAN_MIRROR: repo.url,
          KILN_DEBIAN_SECURITY_MIRROR: repo.url,
          KILN_DEBIAN_KEYRING: repo.keyring,
          KILN_LOG_LEVEL: 'warn',
        },
        extendEnv: false,
        reject: false,
        timeout: 600_000,
      });
    return { registry, state, kiln };
  }

  it('publishes, signs and verifies; a dependency update is -r1 and moves the floating tags; then nothing is due', async () => {
    const { registry, state, kiln } = await setUp(recipeYaml);
    const publicKey = path.join(state, 'keys', 'cosign.pub');

    // 1. First run: envtool 1.4-2 with libc-fake 1.0, published as -r0, signed and verified.
    const first = await kiln(['up', '--once', '--verify', 'envtool']);
    expect(first.stderr).not.toMatch(/"level":50/);
    expect(first.exitCode, first.stdout + first.stderr).toBe(0);
    const published0 = new RegExp(
      `envtool\\s+\\S+\\s+published\\s+${version}-r0 (sha256:[a-f0-9]{64}) tags (.+); build tag (\\S+)`,
    ).exec(first.stdout);
    expect(published0, first.stdout).not.toBeNull();
    const r0 = published0?.[1] ?? '';
    expect(published0?.[2]?.split(' ')).toEqual([`${version}-r0`, version, '1.4', '1', 'latest']);
    // The immutable build tag the table prints names this very image.
    expect(published0?.[3]).toMatch(new RegExp(`^${version}-r0-\\d{12}$`));
    expect(await tagDigest(registry, published0?.[3] ?? '')).toBe(r0);
    expect(first.stdout).toContain(`verified  ${registry.host}/${registry.repository}@${r0}`);
    expect(first.stdout).toMatch(
      new RegExp(
        `signature ok, \\d+ attestations, SBOM 2 packages, provenance ${version}, VEX: (none attached|OpenVEX attestation checked)`,
      ),
    );

    const inspected = await execa('skopeo', [
      'inspect',
      '--tls-verify=false',
      '--raw',
      `docker://${registry.host}/${registry.repository}:${version}-r0`,
    ]);
    const index = JSON.parse(inspected.stdout) as {
      mediaType: string;
      manifests: { platform: { architecture: string; os: string } }[];
      annotations?: Record<string, string>;
    };
    expect(index.mediaType).toBe('application/vnd.oci.image.index.v1+json');
    expect(index.manifests.map((m) => m.platform)).toEqual([
      { architecture: 'amd64', os: 'linux' },
    ]);
    expect(index.annotations?.['org.opencontainers.image.version']).toBe(version);
    for (const tag of [`${version}-r0`, version, '1.4', '1', 'latest'])
      expect(await tagDigest(registry, tag), tag).toBe(r0);
    // Everything came from the local repository: its suites, then the .debs themselves.
    expect(repo.requests).toEqual(
      expect.arrayContaining([
        '/dists/stable/InRelease',
        '/dists/stable-security/InRelease',
        `/pool/stable/envtool_${version}_amd64.deb`,
        '/pool/stable/libc-fake_1.0_amd64.deb',
      ]),
    );
    expect(await sbomPackages(registry, r0)).toMatchObject({
      envtool: version,
      'libc-fake': '1.0',
    });

    // 2. The security suite gets a new libc-fake; envtool itself is unchanged: a nano update.
    const envtoolDeb = await indexedSha256(repo, 'stable', 'envtool');
    await repo.update(await packages(true));
    // The tracked package is the very same .deb: only the dependency changed.
    expect(await indexedSha256(repo, 'stable', 'envtool')).toBe(envtoolDeb);
    const second = await kiln(['up', '--once', '--verify', 'envtool']);
    expect(second.stderr).not.toMatch(/"level":50/);
    expect(second.exitCode, second.stdout + second.stderr).toBe(0);
    const published1 = new RegExp(
      `envtool\\s+\\S+\\s+published\\s+${version}-r1 (sha256:[a-f0-9]{64}) tags (.+); build tag (\\S+)`,
    ).exec(second.stdout);
    expect(published1, second.stdout).not.toBeNull();
    const r1 = published1?.[1] ?? '';
    expect(r1).not.toBe(r0);
    expect(second.stdout).toContain(`verified  ${registry.host}/${registry.repository}@${r1}`);
    expect(await tagDigest(registry, `${version}-r0`)).toBe(r0);
    for (const tag of [`${version}-r1`, version, '1.4', '1', 'latest'])
      expect(await tagDigest(registry, tag), tag).toBe(r1);
    expect(await sbomPackages(registry, r1)).toMatchObject({
      envtool: version,
      'libc-fake': securityFix,
    });

    // A consumer's check of the new image, by tag, with the machine's public key.
    const verify = await kiln([
      'verify',
      `${registry.host}/${registry.repository}:${version}-r1`,
      '--key',
      publicKey,
      '--json',
    ]);
    expect(verify.exitCode, verify.stdout + verify.stderr).toBe(0);
    expect(JSON.parse(verify.stdout)).toMatchObject({
      verified: true,
      digest: r1,
      provenance: { upstreamVersion: version },
    });

    // 3. Nothing changed since: nothing is rebuilt, even with a fresh queue prefix (the registry
    // is the source of truth, not Redis).
    const third = await kiln(['up', '--once', 'envtool'], uniqueName('up-local'));
    expect(third.exitCode, third.stdout + third.stderr).toBe(0);
    expect(third.stdout).toMatch(/envtool\s+\S+\s+up-to-date/);
    expect(third.stdout).not.toMatch(/envtool\s+\S+\s+published/);
    expect(await tagDigest(registry, 'latest')).toBe(r1);
  }, 900_000);

  it('publishes nothing when the image’s test fails', async () => {
    const { registry, kiln } = await setUp(
      recipeYaml.replace(
        'expect-output: KILN_E2E=local-repository',
        'expect-output: KILN_E2E=something-else',
      ),
    );
    const run = await kiln(['up', '--once', '--verify', 'envtool']);
    expect(run.exitCode, run.stdout + run.stderr).toBe(1);
    // The build job's own reason, not the publish job's "child … failed".
    expect(run.stdout).toMatch(
      /envtool\s+\S+\s+failed\s+image test 1 \(env runs in the image\) failed: its output lacks "KILN_E2E=something-else"/,
    );
    expect(run.stdout).not.toMatch(/^verified/m);
    const res = await fetch(`http://${registry.host}/v2/${registry.repository}/tags/list`);
    const tags = res.status === 200 ? ((await res.json()) as { tags: string[] | null }).tags : [];
    expect(tags ?? []).toEqual([]);
  }, 600_000);
});
