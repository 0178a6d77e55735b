import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import {
  mkdir,
  mkdtemp,
  readFile,
  readdir,
  realpath,
  rm,
  symlink,
  writeFile,
} from 'node:fs/promises';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer as createTcpServer, type Server as TcpServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createDockerfileBuilder, networkAnnotation } from '../../src/build/dockerfile/index.ts';
import type { BuildInput, BuildOutput } from '../../src/build/types.ts';
import { PermanentError } from '../../src/errors.ts';
import { createLogger } from '../../src/log.ts';
import { OciLayout } from '../../src/oci/layout.ts';
import type { ImageManifest } from '../../src/oci/media-types.ts';
import { lintPaths } from '../../src/recipe/lint.ts';
import { formatProblem } from '../../src/recipe/problem.ts';
import { recipeSchema, type Recipe } from '../../src/recipe/schema.ts';
import { makeHostRootfsTar } from './host-rootfs.ts';
import { readImageFile } from './image-files.ts';

/*
 * A hostile Dockerfile on the real buildah under kiln's sandbox. Its RUN step tries to reach a
 * TCP server this test listens with on 127.0.0.1 and the tests' Redis, to read a sentinel file
 * outside its context (absolute path, /proc/1/root, `..`, and a real chroot escape: a static
 * binary that chroot()s twice, which works as uid 0 under plain `--isolation chroot`), and to
 * print an environment in which kiln holds secrets. The build's output and the image must show
 * none of it; with `network: true` the connection goes through.
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

const secretValues = {
  KILN_SECRET_ISOLATION_X: `kiln-secret-${randomBytes(6).toString('hex')}`,
  GITHUB_TOKEN: `ghp_${randomBytes(10).toString('hex')}`,
  // buildah hands proxy variables to RUN by default: a leak path for kiln's environment.
  https_proxy: `http://kiln:proxy-${randomBytes(6).toString('hex')}@127.0.0.1:9`,
};
const sentinel = `host-sentinel-${randomBytes(8).toString('hex')}`;
const greeting = `tcp-greeting-${randomBytes(6).toString('hex')}`;
const repoRoot = path.resolve(import.meta.dirname, '../..');

let dir: string;
let outside: string;
let tcp: TcpServer;
let tcpPort: number;
let connections = 0;
let http: HttpServer;
let httpBase: string;
const served = new Map<string, Buffer>();
const hasGcc = (() => {
  try {
    execFileSync('gcc', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

function recipe(
  name: string,
  dockerfile: Record<string, unknown>,
  extra: Record<string, unknown> = {},
): Recipe {
  return recipeSchema.parse({
    name,
    description: 'isolation test image',
    license: 'MIT',
    upstream: { github: `example/${name}` },
    build: {
      builder: 'dockerfile',
      dockerfile: { path: `${name}/Dockerfile`, context: name, ...dockerfile },
      ...extra,
    },
  });
}

async function build(r: Recipe, lines: string[] = []): Promise<BuildOutput> {
  const workDir = await mkdtemp(path.join(dir, `work-${r.name}-`));
  const input: BuildInput = {
    recipe: r,
    recipeFile: path.join(dir, `${r.name}.yaml`),
    version: '1.0.0',
    epoch: 0,
    archs: ['amd64'],
    inputsDigest: `sha256:${'0'.repeat(64)}`,
    workDir,
    signal: new AbortController().signal,
    timeoutMs: 120_000,
    sourceDateEpoch: 1_700_000_000,
    log,
    annotations: {},
    onLogLine: (l) => lines.push(l),
  };
  return builder.build(input);
}

/** A tiny userland: bash (for /dev/tcp, and as /bin/sh), cat, env, ls and their libraries. */
const rootfsTar = (into: string) =>
  makeHostRootfsTar(into, { programs: ['bash', 'cat', 'env', 'ls'], shell: 'bash' });

const escapeSource = `
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>
int main(int argc, char **argv) {
  mkdir("/.kiln-escape", 0700);
  if (chroot("/.kiln-escape") != 0) { perror("chroot"); return 0; }
  for (int i = 0; i < 64; i++) if (chdir("..") != 0) break;
  if (chroot(".") != 0) { perror("chroot ."); return 0; }
  for (int a = 1; a < argc; a++) {
    FILE *f = fopen(argv[a], "r");
    if (!f) { perror(argv[a]); continue; }
    char buf[200]; size_t n = fread(buf, 1, sizeof buf - 1, f); buf[n] = 0;
    printf("escaped, read %s: %s\\n", argv[a], buf); fclose(f);
  }
  return 0;
}
`;

/** Writes the hostile recipe's folder: rootfs, the escape binary and the Dockerfile. */
async function hostileContext(name: string): Promise<void> {
  const ctx = path.join(dir, name);
  await mkdir(ctx, { recursive: true });
  await rootfsTar(ctx);
  const escape = hasGcc ? ['COPY escape /escape'] : [];
  if (hasGcc) {
    await writeFile(path.join(dir, 'escape.c'), escapeSource);
    await execa('gcc', [
      '-static',
      '-O2',
      '-o',
      path.join(ctx, 'escape'),
      path.join(dir, 'escape.c'),
    ]);
  }
  const redis = new URL(inject('redisUrl'));
  const probe = (host: string, port: string, send: string): string =>
    `(exec 3<>/dev/tcp/${host}/${port} && printf '${send}' >&3 && read -t 3 l <&3 && echo "connected ${port}: $l") 2>&1 || echo "no connection to ${port}"`;
  const sentinelFile = path.join(outside, 'sentinel');
  const script = [
    'echo "== env"; env',
    `echo "== net"; ${probe('127.0.0.1', String(tcpPort), 'hello\\n')}; ${probe(redis.hostname, redis.port, 'PING\\r\\n')}`,
    `echo "== files"; cat ${sentinelFile} /proc/1/root${sentinelFile} ../../../../..${sentinelFile} ${path.join(dir, 'sibling.key')} ${repoRoot}/package.json 2>&1`,
    ...(hasGcc
      ? [
          `echo "== escape"; /escape ${sentinelFile} ${path.join(dir, 'sibling.key')} ${repoRoot}/package.json`,
        ]
      : []),
    'echo "== end"',
  ].join('; ');
  await writeFile(
    path.join(ctx, 'Dockerfile'),
    [
      'FROM scratch',
      'ADD rootfs.tar /',
      ...escape,
      `RUN (${script}) > /report 2>&1; cat /report`,
      '',
    ].join('\n'),
  );
}

beforeAll(async () => {
  dir = await realpath(await mkdtemp(path.join(os.tmpdir(), 'kiln-isolation-test-')));
  outside = await realpath(await mkdtemp(path.join(os.tmpdir(), 'kiln-isolation-outside-')));
  await writeFile(path.join(outside, 'sentinel'), `${sentinel}\n`);
  // A host file right beside the context, inside the recipe's folder but outside the context.
  await writeFile(path.join(dir, 'sibling.key'), `${sentinel}-sibling\n`);
  tcp = createTcpServer((socket) => {
    connections++;
    socket.end(`${greeting}\n`);
  });
  await new Promise<void>((resolve) => tcp.listen(0, '127.0.0.1', resolve));
  tcpPort = (tcp.address() as AddressInfo).port;
  http = createHttpServer((req, res) => {
    const body = served.get(req.url ?? '');
    res.writeHead(body ? 200 : 404).end(body);
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  httpBase = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
  Object.assign(process.env, secretValues);
}, 120_000);

afterAll(async () => {
  for (const key of Object.keys(secretValues)) delete process.env[key];
  tcp.close();
  http.close();
  await rm(dir, { recursive: true, force: true });
  await rm(outside, { recursive: true, force: true });
});

async function manifestOf(out: BuildOutput): Promise<ImageManifest> {
  const arch = out.archs[0];
  if (!arch) throw new Error('no arch built');
  return new OciLayout(out.layoutDir).readJson<ImageManifest>(arch.manifest.digest);
}

describe('a hostile Dockerfile RUN step', () => {
  it('reaches no network, no host file and none of kiln’s environment', async () => {
    await hostileContext('hostile');
    const lines: string[] = [];
    const before = connections;
    const out = await build(recipe('hostile', { shell: true }), lines);
    const report =
      (await readImageFile(out.layoutDir, out.archs[0]?.manifest.digest ?? '', '/report')) ?? '';
    const output = lines.join('\n');
    for (const text of [report, output]) {
      expect(text).toContain('== end');
      expect(text).toContain(`no connection to ${tcpPort}`);
      expect(text).not.toContain(greeting);
      expect(text).not.toContain('+PONG');
      expect(text).not.toContain(sentinel);
      expect(text).not.toContain('"name": "kiln"');
      for (const value of Object.values(secretValues)) expect(text).not.toContain(value);
      expect(text).not.toMatch(/KILN_|GITHUB_TOKEN|https_proxy/);
    }
    if (hasGcc) expect(report).toContain('== escape');
    expect(connections).toBe(before);
    expect((await manifestOf(out)).annotations?.[networkAnnotation]).toBe('none');
  }, 180_000);

  it('gets the network with network: true, and says so in the image', async () => {
    await hostileContext('networked');
    const lines: string[] = [];
    const before = connections;
    const out = await build(recipe('networked', { shell: true, network: true }), lines);
    expect(lines.join('\n')).toContain(`connected ${tcpPort}: ${greeting}`);
    expect(connections).toBeGreaterThan(before);
    // Files stay out of reach either way.
    expect(lines.join('\n')).not.toContain(sentinel);
    expect((await manifestOf(out)).annotations?.[networkAnnotation]).toBe('host');
  }, 180_000);
});

describe('the context and the Dockerfile stay in the recipe’s folder', () => {
  /** `kiln lint` on one recipe file: its problems as `file:line:col: message`. */
  async function lintRecipe(name: string, dockerfile: string): Promise<string[]> {
    const folder = await mkdtemp(path.join(dir, 'lint-'));
    const file = path.join(folder, `${name}.yaml`);
    await writeFile(
      file,
      [
        `name: ${name}`,
        'description: test',
        'license: MIT',
        'upstream:',
        `  github: example/${name}`,
        'build:',
        '  builder: dockerfile',
        '  dockerfile:',
        dockerfile,
        '',
      ].join('\n'),
    );
    return (await lintPaths([file])).problems.map((p) => formatProblem(p, { relativeTo: folder }));
  }

  it('kiln lint refuses an absolute context, a Dockerfile path climbing out, and a symlink out', async () => {
    expect(await lintRecipe('abs', '    context: /\n    path: ../../etc/Dockerfile')).toEqual([
      'abs.yaml:9:14: build.dockerfile.context: "/" is an absolute path: it must lie inside the recipe\'s folder',
      'abs.yaml:10:11: build.dockerfile.path: "../../etc/Dockerfile" climbs out with `..`: it must lie inside the recipe\'s folder',
    ]);
    const folder = await mkdtemp(path.join(dir, 'lint-link-'));
    await symlink(outside, path.join(folder, 'ctx'));
    await writeFile(
      path.join(folder, 'linked.yaml'),
      'name: linked\ndescription: test\nlicense: MIT\nupstream:\n  github: example/linked\nbuild:\n  builder: dockerfile\n  dockerfile:\n    context: ctx\n',
    );
    const linked = (await lintPaths([path.join(folder, 'linked.yaml')])).problems.map((p) =>
      formatProblem(p, { relativeTo: folder }),
    );
    expect(linked).toEqual([
      `linked.yaml:9:14: build.dockerfile.context: "ctx" leads out through a symlink (to ${outside}): it must lie inside the recipe's folder`,
    ]);
  });

  it('the build refuses them too (a recipe that skipped lint), symlinks resolved', async () => {
    await mkdir(path.join(dir, 'escaper'), { recursive: true });
    await writeFile(path.join(dir, 'escaper', 'Dockerfile'), 'FROM scratch\nCOPY sentinel /\n');
    const absolute = await build(recipe('escaper', { context: outside })).catch((e: unknown) => e);
    expect(absolute).toBeInstanceOf(PermanentError);
    expect((absolute as Error).message).toContain('build.dockerfile.context');
    expect((absolute as Error).message).toContain('is an absolute path');
    await symlink(outside, path.join(dir, 'escaper', 'out'));
    const linked = await build(recipe('escaper', { context: 'escaper/out' })).catch(
      (e: unknown) => e,
    );
    expect(linked).toBeInstanceOf(PermanentError);
    expect((linked as Error).message).toContain('leads out through a symlink');
    const other = await mkdtemp(path.join(os.tmpdir(), 'kiln-isolation-other-'));
    await writeFile(path.join(other, 'Dockerfile'), 'FROM scratch\n');
    await symlink(other, path.join(dir, 'escaper', 'other'));
    const dockerfile = await build(
      recipe('escaper', { context: 'escaper', path: 'escaper/other/Dockerfile' }),
    ).catch((e: unknown) => e);
    expect(dockerfile).toBeInstanceOf(PermanentError);
    expect((dockerfile as Error).message).toContain('build.dockerfile.path');
    await rm(other, { recursive: true, force: true });
  });
});

describe('files write through no symlink', () => {
  function serve(name: string, body: Buffer): { url: string; sha256: string } {
    served.set(`/${name}`, body);
    return { url: `${httpBase}/${name}`, sha256: createHash('sha256').update(body).digest('hex') };
  }

  it('refuses a files path through a symlink shipped in the context', async () => {
    const ctx = path.join(dir, 'shipped');
    await mkdir(ctx, { recursive: true });
    await writeFile(path.join(ctx, 'Dockerfile'), 'FROM scratch\nCOPY . /\n');
    await symlink(outside, path.join(ctx, 'evil'));
    const file = serve('payload', Buffer.from('pwned\n'));
    const r = recipe('shipped', {}, { files: [{ ...file, path: 'evil/pwned' }] });
    const error = await build(r).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PermanentError);
    expect((error as Error).message).toContain('goes through the symlink evil');
    expect(await readdir(outside)).toEqual(['sentinel']);
    // The link as the final component: O_NOFOLLOW.
    const direct = recipe('shipped', {}, { files: [{ ...file, path: 'evil' }] });
    const error2 = await build(direct).catch((e: unknown) => e);
    expect(error2).toBeInstanceOf(PermanentError);
    expect(await readFile(path.join(outside, 'sentinel'), 'utf8')).toBe(`${sentinel}\n`);
  });

  it('refuses a symlink out of the context that an earlier archive unpacked, and writes nothing through it', async () => {
    const ctx = path.join(dir, 'archived');
    await mkdir(ctx, { recursive: true });
    await writeFile(path.join(ctx, 'Dockerfile'), 'FROM scratch\nCOPY . /\n');
    const staging = await mkdtemp(path.join(dir, 'staging-'));
    await symlink(outside, path.join(staging, 'link'));
    await writeFile(path.join(staging, 'README'), 'source\n');
    await execa('tar', ['-C', staging, '-cf', path.join(dir, 'archive.tar'), 'link', 'README']);
    const archive = serve('archive.tar', await readFile(path.join(dir, 'archive.tar')));
    const payload = serve('payload2', Buffer.from('pwned\n'));
    const r = recipe(
      'archived',
      {},
      {
        files: [
          { ...archive, path: 'src', extract: true },
          { ...payload, path: 'src/link/pwned' },
        ],
      },
    );
    const error = await build(r).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PermanentError);
    expect((error as Error).message).toMatch(/symlink src\/link/);
    expect(await readdir(outside)).toEqual(['sentinel']);
  });
});

describe('no shell unless declared', () => {
  it('fails an image that ships /bin/sh without shell: true, and passes one with no shell', async () => {
    const ctx = path.join(dir, 'shelly');
    await mkdir(ctx, { recursive: true });
    await rootfsTar(ctx);
    await writeFile(path.join(ctx, 'Dockerfile'), 'FROM scratch\nADD rootfs.tar /\n');
    const error = await build(recipe('shelly', {})).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PermanentError);
    expect((error as Error).message).toContain('the image holds a shell (/bin/bash, /bin/sh)');
    await expect(build(recipe('shelly', { shell: true }))).resolves.toBeDefined();

    const bare = path.join(dir, 'bare');
    await mkdir(bare, { recursive: true });
    await writeFile(path.join(bare, 'tool'), '#!/nonexistent\n');
    await writeFile(path.join(bare, 'Dockerfile'), 'FROM scratch\nCOPY tool /usr/bin/tool\n');
    await expect(build(recipe('bare', {}))).resolves.toBeDefined();
  }, 120_000);
});
