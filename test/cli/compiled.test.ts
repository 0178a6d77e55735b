import {
  appendFile,
  cp,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  rm,
  symlink,
  utimes,
  writeFile,
} from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Job, Queue } from 'bullmq';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { redisOptions } from '../../src/queue/connection.ts';
import { createFlowProducer, enqueueBuild } from '../../src/queue/enqueue.ts';
import { QueueName } from '../../src/queue/names.ts';
import { buildRequest } from '../helpers/requests.ts';
import { testRedisUrl, testRegistryHost, uniqueName } from '../helpers/stack.ts';

/*
 * The compiled CLI, tested on a copy of the package (its files as they are in this working tree,
 * node_modules linked), so building, editing and packing never touch the shared dist/.
 */
const repo = path.resolve(import.meta.dirname, '../..');
const packageFiles = [
  'bin',
  'src',
  'workers',
  'schema',
  'recipes',
  'package.json',
  'package-lock.json',
];
const marker = 'kiln-test: ran dist';

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'kiln-compiled-'));
});

/** A fresh copy of the package in `dir/<name>`. */
async function copyPackage(name: string): Promise<string> {
  const pkg = path.join(dir, name);
  await mkdir(path.join(pkg, 'scripts'), { recursive: true });
  const extra = ['tsconfig.json', 'scripts/build.js', 'scripts/build.sh', 'test/recipes'];
  for (const file of [...packageFiles, ...extra]) {
    await cp(path.join(repo, file), path.join(pkg, file), { recursive: true });
  }
  await symlink(path.join(repo, 'node_modules'), path.join(pkg, 'node_modules'));
  return pkg;
}

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const kiln = (pkg: string, ...args: string[]) =>
  execa('node', ['bin/kiln.js', ...args], { cwd: pkg, reject: false });
const build = (pkg: string) => execa('bash', ['scripts/build.sh'], { cwd: pkg });

interface Manifest {
  build: string;
  inputs: Record<string, string>;
}

const readManifest = async (pkg: string): Promise<Manifest> =>
  JSON.parse(await readFile(path.join(pkg, 'dist/manifest.json'), 'utf8')) as Manifest;

/** Marks the current build's entry so a run shows whether it came from dist/. */
async function markBuild(pkg: string): Promise<void> {
  const manifest = await readManifest(pkg);
  await appendFile(
    path.join(pkg, 'dist', manifest.build, 'cli.js'),
    `\nprocess.stderr.write(${JSON.stringify(`${marker}\n`)});\n`,
  );
}

/** Rewrites a source file in place: its modification time changes, its size only if `to` does. */
async function edit(pkg: string, file: string, from: string, to: string): Promise<void> {
  const full = path.join(pkg, file);
  const text = await readFile(full, 'utf8');
  expect(text).toContain(from);
  await writeFile(full, text.replace(from, to));
}

describe('the compiled CLI (dist/)', () => {
  it('runs dist/ while its inputs are unchanged, and the sources as soon as one is edited', async () => {
    const pkg = await copyPackage('edited');
    const fromSources = await kiln(pkg, '--help');
    expect(fromSources.exitCode).toBe(0);
    expect(fromSources.stderr).not.toContain(marker);

    expect((await build(pkg)).stderr).toMatch(/^kiln build: dist\/b-[0-9a-f]{12} in \d+ ms$/m);
    await markBuild(pkg);
    // Help from the build's command table, with no command module loaded, reads as the sources'.
    const fromDist = await kiln(pkg, '--help');
    expect(fromDist.stderr).toContain(marker);
    expect(fromDist.stdout).toBe(fromSources.stdout);
    const lint = await kiln(pkg, 'lint', 'recipes');
    expect(lint.stderr).toContain(marker);
    expect(lint.stderr).toMatch(/\d+ recipes valid/);
    expect(lint.exitCode).toBe(0);
    // The bundled yaml and zod report the broken corpus exactly as the sources do.
    const corpus = await kiln(pkg, 'lint', 'test/recipes/valid', 'test/recipes/broken');
    expect(corpus.stderr).toContain(marker);
    expect(corpus.exitCode).toBe(1);
    const expected = await readFile(path.join(repo, 'test/recipes/expected.txt'), 'utf8');
    expect(corpus.stdout.split('\n')).toEqual(expected.split('\n').filter(Boolean));
    const unknown = await kiln(pkg, 'frobnicate');
    expect(unknown.exitCode).toBe(2);
    expect(unknown.stderr).toContain("unknown command 'frobnicate'");
    // A current build is not built again.
    expect((await build(pkg)).stderr).toBe('');

    await edit(pkg, 'src/cli.ts', 'Continuous rebuilds of', 'Edited: continuous rebuilds of');
    const edited = await kiln(pkg, '--help');
    expect(edited.stderr).not.toContain(marker);
    expect(edited.stdout).toContain('Edited: continuous rebuilds of');

    // An edit deep in a command's imports that keeps the file's size is seen too.
    expect((await build(pkg)).stderr).toContain('kiln build:');
    await markBuild(pkg);
    expect((await kiln(pkg, 'lint', 'recipes')).stderr).toContain(marker);
    await edit(pkg, 'src/cli/lint.ts', "'recipe')} valid\\n", "'recipe')} VALID\\n");
    const deep = await kiln(pkg, 'lint', 'recipes');
    expect(deep.stderr).not.toContain(marker);
    expect(deep.stderr).toMatch(/\d+ recipes VALID/);
  }, 180_000);

  it('bundles the dependencies lint loads, and a lockfile change (a new install) means a rebuild', async () => {
    const pkg = await copyPackage('lockfile');
    await build(pkg);
    const manifest = await readManifest(pkg);
    // The start-up check stats the sources and the lockfiles, not the bundled packages' files.
    const inputs = Object.keys(manifest.inputs);
    expect(inputs).toContain('package-lock.json');
    expect(inputs).toContain('src/recipe/load.ts');
    expect(
      inputs.filter((f) => f.includes('node_modules/') && !f.endsWith('.package-lock.json')),
    ).toEqual([]);
    // No chunk imports yaml, zod, semver or commander from node_modules; pino stays external.
    const chunkDir = path.join(pkg, 'dist', manifest.build);
    const chunks = (await readdir(chunkDir)).filter((f) => f.endsWith('.js'));
    const code = (
      await Promise.all(chunks.map((f) => readFile(path.join(chunkDir, f), 'utf8')))
    ).join('\n');
    expect(code).not.toMatch(/from "(yaml|zod|semver|commander)(\/[^"]*)?"/);
    expect(code).toMatch(/from "pino"/);

    await markBuild(pkg);
    expect((await kiln(pkg, 'lint', 'recipes')).stderr).toContain(marker);
    const later = new Date(Date.now() + 5_000);
    await utimes(path.join(pkg, 'package-lock.json'), later, later);
    const stale = await kiln(pkg, 'lint', 'recipes');
    expect(stale.exitCode).toBe(0);
    expect(stale.stderr).not.toContain(marker);
  }, 180_000);

  it('keeps an old build while a kiln started from it still runs, and removes it after', async () => {
    const pkg = await copyPackage('held');
    await build(pkg);
    const old = (await readManifest(pkg)).build;
    // A long-running kiln (an `up` or a worker that loads chunks on demand) stands in as a
    // --help that stays alive for a while after printing.
    await appendFile(
      path.join(pkg, 'dist', old, 'cli.js'),
      '\nprocess.stderr.write("held\\n"); setTimeout(() => {}, 120_000);\n',
    );
    const running = execa('node', ['bin/kiln.js', '--help'], { cwd: pkg, reject: false });
    await new Promise<void>((resolve) => {
      running.stderr?.on('data', (chunk: Buffer) => {
        if (chunk.toString().includes('held')) resolve();
      });
    });
    await edit(pkg, 'src/cli.ts', 'Continuous rebuilds of', 'Rebuilt: continuous rebuilds of');
    await execa('node', ['scripts/build.js', '--prune-all'], { cwd: pkg });
    const current = (await readManifest(pkg)).build;
    expect(current).not.toBe(old);
    expect(await readdir(path.join(pkg, 'dist'))).toContain(old);
    running.kill('SIGKILL');
    await running;
    // Its mark names a process that is gone: the next prune removes the build.
    await execa('node', ['scripts/build.js', '--prune-all'], { cwd: pkg });
    const left = await readdir(path.join(pkg, 'dist'));
    expect(left).toContain(current);
    expect(left).not.toContain(old);
  }, 180_000);

  it('installs with npm pack and npm install -g, and the installed kiln runs', async () => {
    const pkg = await copyPackage('packed');
    const packed = await execa('npm', ['pack', '--pack-destination', dir, '--json'], { cwd: pkg });
    const packs = JSON.parse(packed.stdout) as { filename: string; files: { path: string }[] }[];
    const { filename, files } = packs[0] ?? { filename: '', files: [] };
    const paths = files.map((f) => f.path);
    expect(paths).toContain('bin/kiln.js');
    expect(paths).toContain('dist/manifest.json');
    expect(paths.some((p) => p.startsWith('src/'))).toBe(false);
    // The workers' processor files, which BullMQ's children import by path.
    expect(
      paths.filter((p) => /^dist\/b-[0-9a-f]{12}\/worker-(build|publish)\.js$/.test(p)),
    ).toHaveLength(2);

    const prefix = path.join(dir, 'prefix');
    const install = ['install', '-g', '--prefix', prefix, '--prefer-offline', '--no-audit'];
    await execa('npm', [...install, '--no-fund', path.join(dir, filename)], { cwd: dir });
    const bin = path.join(prefix, 'bin', 'kiln');
    const help = await execa(bin, ['--help'], { cwd: dir });
    expect(help.stdout).toContain('Usage: kiln [options] [command]');
    expect(help.stdout).toContain('lint [options] [paths...]');

    const recipe = path.join(repo, 'recipes', 'static.yaml');
    const valid = await execa(bin, ['lint', recipe], { cwd: dir, reject: false });
    expect(valid.stderr).toContain('1 recipe valid');
    expect(valid.exitCode).toBe(0);

    const broken = path.join(dir, 'broken.yaml');
    await writeFile(broken, 'name: broken\nupstream: { kind: nowhere }\n');
    const invalid = await execa(bin, ['lint', broken], { cwd: dir, reject: false });
    expect(invalid.exitCode).toBe(1);
    expect(invalid.stdout).toMatch(/broken\.yaml:\d+:\d+: /);

    // The installed `kiln worker` runs a job in a child process from its bundled processor file.
    const queuePrefix = uniqueName('compiled');
    const worker = execa(bin, ['worker', '--queue', 'build'], {
      cwd: dir,
      reject: false,
      env: {
        KILN_REDIS_URL: testRedisUrl(),
        KILN_REGISTRY: `${testRegistryHost()}/${queuePrefix}`,
        KILN_QUEUE_PREFIX: queuePrefix,
        KILN_ALLOW_UNSIGNED: 'true',
        KILN_LOG_LEVEL: 'warn',
      },
    });
    const connection = redisOptions(testRedisUrl());
    const producer = createFlowProducer(connection, queuePrefix);
    const builds = new Queue(QueueName.build, { connection, prefix: queuePrefix });
    try {
      const missing = path.join(dir, 'no-such-recipe.yaml');
      const ids = await enqueueBuild(producer, buildRequest({ recipeFile: missing }), {
        attempts: 1,
      });
      const id = ids.buildJobIds[0] ?? '';
      let job = await Job.fromId(builds, id);
      for (let i = 0; i < 600 && !job?.failedReason; i++) {
        await sleep(100);
        job = await Job.fromId(builds, id);
      }
      expect(job?.failedReason).toContain(`${missing}:1:1: cannot read recipe (ENOENT)`);
      const { logs } = await builds.getJobLogs(id);
      expect(logs.join('\n')).toMatch(/^running in child process \d+ of worker \d+$/m);
    } finally {
      await producer.close();
      await builds.close();
      worker.kill('SIGTERM');
      await worker;
    }
  }, 300_000);
});
