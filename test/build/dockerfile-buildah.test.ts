import { readdir, readFile, writeFile, mkdir, rm, mkdtemp } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PermanentError, TransientError } from '../../src/errors.ts';
import { createLogger } from '../../src/log.ts';
import { OciLayout } from '../../src/oci/layout.ts';
import { recipeSchema, type Recipe } from '../../src/recipe/schema.ts';
import { createDockerfileBuilder } from '../../src/build/dockerfile/index.ts';
import type { BuildInput, BuildOutput } from '../../src/build/types.ts';
import { makeHostRootfsTar } from './host-rootfs.ts';
import { readImageFile } from './image-files.ts';

/*
 * The dockerfile builder on the real buildah (chroot isolation, vfs storage in a private folder).
 * Offline: the base is a root filesystem tarball made from the host's binaries, turned into an
 * image by kiln itself (FROM scratch + ADD), then used by the next recipe as a kiln-built base.
 */

const log = createLogger({ level: 'silent' });
const builder = createDockerfileBuilder({
  config: {
    dockerfileBackend: 'buildah',
    buildkitAddr: undefined,
    registry: undefined,
    insecureRegistries: [],
    cacheDir: os.tmpdir(),
  },
});

let dir: string;
let baseLayout: string;
const servers: Server[] = [];

function recipe(
  name: string,
  dockerfile: Record<string, unknown>,
  extra: Record<string, unknown> = {},
): Recipe {
  return recipeSchema.parse({
    name,
    description: 'test image',
    license: 'MIT',
    upstream: { github: `example/${name}` },
    build: {
      builder: 'dockerfile',
      // Test images are built on a userland with /bin/sh: they declare it.
      dockerfile: { path: `${name}/Dockerfile`, context: name, shell: true, ...dockerfile },
    },
    ...extra,
  });
}

async function writeRecipe(name: string, dockerfile: string): Promise<string> {
  await mkdir(path.join(dir, name), { recursive: true });
  await writeFile(path.join(dir, name, 'Dockerfile'), dockerfile);
  return path.join(dir, `${name}.yaml`);
}

async function build(
  r: Recipe,
  recipeFile: string,
  overrides: Partial<BuildInput> = {},
): Promise<BuildOutput> {
  const workDir = await mkdtemp(path.join(dir, `work-${r.name}-`));
  return builder.build({
    recipe: r,
    recipeFile,
    version: '1.2.3',
    epoch: 0,
    archs: ['amd64'],
    inputsDigest: `sha256:${'0'.repeat(64)}`,
    workDir,
    signal: new AbortController().signal,
    timeoutMs: 120_000,
    sourceDateEpoch: 1_700_000_000,
    log,
    annotations: { 'org.opencontainers.image.version': '1.2.3' },
    ...overrides,
  });
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'kiln-dockerfile-test-'));
  const recipeFile = await writeRecipe(
    'tools',
    'FROM scratch\nADD rootfs.tar /\nCMD ["/bin/sh"]\n',
  );
  await makeHostRootfsTar(path.join(dir, 'tools'));
  const out = await build(recipe('tools', {}), recipeFile);
  baseLayout = out.layoutDir;
}, 120_000);

afterAll(async () => {
  for (const server of servers) server.close();
  await rm(dir, { recursive: true, force: true });
});

describe('dockerfile builder on buildah', () => {
  const weird = `it's "quoted" $(echo pwned) \`id\` ; rm -rf / | & > < * \\ \n second line`;

  it('builds a multi-stage Dockerfile with RUN on a kiln-built base into an image skopeo accepts', async () => {
    const recipeFile = await writeRecipe(
      'app',
      [
        'FROM tools AS build',
        'ARG VERSION',
        'ARG WEIRD',
        'ARG SOURCE_DATE_EPOCH',
        'RUN mkdir -p /out && echo "app $VERSION" > /out/version && printf "%s" "$WEIRD" > /out/weird && echo "$SOURCE_DATE_EPOCH" > /out/sde',
        'FROM tools',
        'COPY --from=build /out/ /',
        'CMD ["/bin/cat", "/version"]',
        '',
      ].join('\n'),
    );
    const r = recipe(
      'app',
      { 'build-args': { WEIRD: weird }, bases: { tools: `oci-layout:${baseLayout}:1.2.3` } },
      {
        test: [{ name: 'version', run: ['/bin/cat', '/version'], 'expect-output': 'app 1.2.3' }],
      },
    );
    const out = await build(r, recipeFile);

    const inspect = await execa('skopeo', ['inspect', `oci:${out.layoutDir}:1.2.3`]);
    const info = JSON.parse(inspect.stdout) as { Architecture: string; Created: string };
    expect(info.Architecture).toBe('amd64');
    expect(info.Created).toBe(new Date(1_700_000_000 * 1000).toISOString().replace('.000Z', 'Z'));
    expect(out.index.mediaType).toBe('application/vnd.oci.image.index.v1+json');
    expect(out.archs.map((a) => a.arch)).toEqual(['amd64']);
    const manifest = out.archs[0]?.manifest;
    expect(manifest?.platform).toEqual({ architecture: 'amd64', os: 'linux' });

    // Build args arrive verbatim: no shell ever saw them on the way in.
    expect(await readImageFile(out.layoutDir, manifest?.digest ?? '', '/weird')).toBe(weird);
    expect(await readImageFile(out.layoutDir, manifest?.digest ?? '', '/version')).toBe(
      'app 1.2.3\n',
    );
    expect(await readImageFile(out.layoutDir, manifest?.digest ?? '', '/sde')).toBe('1700000000\n');

    // The recipe's test ran inside the image under bubblewrap (src/sandbox) and passed.
    expect(out.archs[0]?.tests).toEqual([{ name: 'version', status: 'passed' }]);

    // What went in: the Dockerfile and the kiln-built base, by digest.
    expect(out.materials.map((m) => m.name)).toEqual(['Dockerfile', 'base tools']);
    expect(out.materials[1]?.uri).toContain(baseLayout);
    expect(out.archs[0]?.packages[0]?.purl).toBe('pkg:github/example/app@1.2.3');
    // The private storage and context are gone; the layout stays for publish.
    expect(await readdir(path.dirname(out.layoutDir))).toEqual(['layout']);
  });

  it('fetches the upstream source with its checksum and applies the recipe’s patches in order', async () => {
    const { url, sha256 } = await serveSource();
    const recipeFile = await writeRecipe('patched', 'FROM tools\nCOPY src/ /src/\n');
    await writeFile(path.join(dir, 'patched', 'kiln.patch'), patchOf('world', 'kiln'));
    await writeFile(path.join(dir, 'patched', 'old.patch'), patchOf('world', 'old'));
    const files = [{ url, sha256, path: 'src', extract: true, 'strip-components': 1 }];
    const lines: string[] = [];
    const r = recipe(
      'patched',
      { bases: { tools: `oci-layout:${baseLayout}` } },
      {
        build: {
          builder: 'dockerfile',
          files,
          dockerfile: {
            path: 'patched/Dockerfile',
            context: 'patched',
            shell: true,
            bases: { tools: `oci-layout:${baseLayout}` },
          },
        },
        patches: [
          { file: 'patched/old.patch', reason: 'fixed upstream in 1.0', until: '1.0.0' },
          { file: 'patched/kiln.patch', reason: 'kiln greets' },
        ],
      },
    );
    const out = await build(r, recipeFile, { onLogLine: (l) => lines.push(l) });
    expect(
      await readImageFile(out.layoutDir, out.archs[0]?.manifest.digest ?? '', '/src/greeting.txt'),
    ).toBe('hello kiln\n');
    expect(lines).toContain(
      'patch patched/old.patch skipped: upstream 1.2.3 has reached its until 1.0.0; delete it from the recipe',
    );
    expect(out.materials.map((m) => m.name)).toEqual([
      'src',
      'patch patched/kiln.patch',
      'Dockerfile',
      'base tools',
    ]);
    expect(out.materials[0]).toEqual({ uri: url, digest: { sha256 }, name: 'src' });

    await writeFile(path.join(dir, 'patched', 'kiln.patch'), patchOf('planet', 'kiln'));
    const error = await build(r, recipeFile).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PermanentError);
    expect((error as Error).message).toContain(
      'patch patched/kiln.patch no longer applies: hunk #1 of greeting.txt (@@ -1 +1 @@) was rejected',
    );
  });

  it('hands secrets to RUN only as build secrets: never in the image, its history or the error', async () => {
    const secret = `s3cr3t-${Math.random().toString(36).slice(2)}`;
    const recipeFile = await writeRecipe(
      'secretive',
      'FROM tools\nRUN --mount=type=secret,id=API_TOKEN case "$(cat /run/secrets/API_TOKEN)" in s3cr3t-*) echo ok > /ok;; esac\n',
    );
    const builderWithSecret = createDockerfileBuilder({
      config: {
        dockerfileBackend: 'buildah',
        buildkitAddr: undefined,
        registry: undefined,
        insecureRegistries: [],
        cacheDir: os.tmpdir(),
      },
      env: { KILN_SECRET_API_TOKEN: secret },
    });
    const r = recipe('secretive', {
      bases: { tools: `oci-layout:${baseLayout}` },
      secrets: ['API_TOKEN'],
    });
    const input = async (recipeValue: Recipe) =>
      builderWithSecret.build({
        recipe: recipeValue,
        recipeFile,
        version: '1.2.3',
        epoch: 0,
        archs: ['amd64'],
        inputsDigest: `sha256:${'0'.repeat(64)}`,
        workDir: await mkdtemp(path.join(dir, 'work-secret-')),
        signal: new AbortController().signal,
        timeoutMs: 120_000,
        sourceDateEpoch: 1_700_000_000,
        log,
        annotations: {},
      });
    const out = await input(r);
    const manifest = out.archs[0]?.manifest.digest ?? '';
    expect(await readImageFile(out.layoutDir, manifest, '/ok')).toBe('ok\n');
    expect(await readImageFile(out.layoutDir, manifest, '/run/secrets/API_TOKEN')).toBeUndefined();
    const layout = new OciLayout(out.layoutDir);
    const { config } = await layout.readJson<{ config: { digest: string } }>(manifest);
    expect((await layout.readBlob(config.digest)).toString()).not.toContain(secret);

    // A RUN that prints the secret: the tool's output is masked before it becomes the error.
    await writeRecipe(
      'leaky',
      'FROM tools\nRUN --mount=type=secret,id=API_TOKEN cat /run/secrets/API_TOKEN; exit 3\n',
    );
    const error = await input(
      recipe('leaky', { bases: { tools: `oci-layout:${baseLayout}` }, secrets: ['API_TOKEN'] }),
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PermanentError);
    expect((error as Error).message).toContain('[REDACTED]');
    expect((error as Error).message).not.toContain(secret);
  });

  it('builds every asked arch into one index, each manifest with its platform', async () => {
    const recipeFile = await writeRecipe('multi', 'FROM scratch\nCOPY hello.txt /\n');
    await writeFile(path.join(dir, 'multi', 'hello.txt'), 'hello\n');
    const out = await build(recipe('multi', {}), recipeFile, { archs: ['amd64', 'arm64'] });
    expect(out.archs.map((a) => [a.arch, a.manifest.platform])).toEqual([
      ['amd64', { architecture: 'amd64', os: 'linux' }],
      ['arm64', { architecture: 'arm64', os: 'linux', variant: 'v8' }],
    ]);
    const inspect = await execa('skopeo', [
      '--override-arch',
      'arm64',
      '--override-variant',
      'v8',
      'inspect',
      `oci:${out.layoutDir}:1.2.3`,
    ]);
    expect((JSON.parse(inspect.stdout) as { Architecture: string }).Architecture).toBe('arm64');
  });

  it('builds the same image bit for bit twice (SOURCE_DATE_EPOCH, no tool version label)', async () => {
    const recipeFile = await writeRecipe(
      'again',
      'FROM tools\nARG VERSION\nRUN mkdir -p /data && echo "$VERSION" > /data/version\n',
    );
    const r = recipe('again', { bases: { tools: `oci-layout:${baseLayout}` } });
    const first = await build(r, recipeFile);
    const second = await build(r, recipeFile);
    expect(second.index.digest).toBe(first.index.digest);
    expect(second.archs[0]?.manifest.digest).toBe(first.archs[0]?.manifest.digest);
  });

  it('fails the build when the image’s test command fails under bubblewrap', async () => {
    const recipeFile = await writeRecipe(
      'untested',
      'FROM tools\nRUN echo "hello 0.9" > /version\n',
    );
    const r = recipe(
      'untested',
      { bases: { tools: `oci-layout:${baseLayout}` } },
      {
        test: [
          { name: 'version', run: ['/bin/cat', '/version'], 'expect-output': 'hello ${version}' },
        ],
      },
    );
    const error = await build(r, recipeFile).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PermanentError);
    expect((error as Error).message).toContain('its output lacks "hello 1.2.3"');
    expect((error as Error).message).toContain('hello 0.9');
  });

  it('fails a failing RUN as permanent, with the command’s last output lines', async () => {
    const recipeFile = await writeRecipe(
      'broken',
      'FROM tools\nRUN echo "compiling hello.c"; echo "hello.c:3: error: expected ; before }" >&2; exit 7\n',
    );
    const error = await build(
      recipe('broken', { bases: { tools: `oci-layout:${baseLayout}` } }),
      recipeFile,
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PermanentError);
    const message = (error as Error).message;
    expect(message).toContain(
      'building broken 1.2.3 for amd64 with buildah: buildah exited with status',
    );
    expect(message).toContain('compiling hello.c');
    expect(message).toContain('hello.c:3: error: expected ; before }');
  });

  it('kills a build over its timeout with all its children and fails as transient', async () => {
    const marker = `${Math.floor(Math.random() * 100_000) + 1000}.5`;
    const recipeFile = await writeRecipe(
      'slow',
      `FROM tools\nRUN sleep ${marker} & sleep ${marker}\n`,
    );
    const started = Date.now();
    const lines: string[] = [];
    const error = await build(
      recipe('slow', { bases: { tools: `oci-layout:${baseLayout}` } }),
      recipeFile,
      {
        // Long enough for the RUN to start on a loaded 2-core CI machine, short for a test.
        timeoutMs: 8000,
        onLogLine: (line) => lines.push(line),
      },
    ).catch((e: unknown) => e);
    // The RUN step had started (its output streamed into the job log) before the kill.
    expect(lines.some((l) => l.includes(`RUN sleep ${marker}`))).toBe(true);
    expect(error).toBeInstanceOf(TransientError);
    expect((error as Error).message).toContain('timed out');
    expect(Date.now() - started).toBeLessThan(60_000);
    expect(await processesWith(`sleep ${marker}`)).toEqual([]);
  });
});

/** A one-line unified diff of greeting.txt. */
function patchOf(from: string, to: string): string {
  return `--- a/greeting.txt\n+++ b/greeting.txt\n@@ -1 +1 @@\n-hello ${from}\n+hello ${to}\n`;
}

/** Serves an upstream release archive (`hello-1.2.3/greeting.txt`) on loopback, as GitHub would. */
async function serveSource(): Promise<{ url: string; sha256: string }> {
  const src = path.join(dir, 'upstream');
  await mkdir(path.join(src, 'hello-1.2.3'), { recursive: true });
  await writeFile(path.join(src, 'hello-1.2.3', 'greeting.txt'), 'hello world\n');
  await execa('tar', ['-C', src, '-czf', path.join(src, 'hello.tar.gz'), 'hello-1.2.3']);
  const archive = await readFile(path.join(src, 'hello.tar.gz'));
  const server = createServer((_req, res) => res.end(archive));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  servers.push(server);
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/archive/v1.2.3.tar.gz`,
    sha256: createHash('sha256').update(archive).digest('hex'),
  };
}

/** Pids whose command line contains `text`. */
async function processesWith(text: string): Promise<number[]> {
  const found: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const cmdline = await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '');
    if (cmdline.split('\0').join(' ').includes(text)) found.push(Number(entry));
  }
  return found;
}
