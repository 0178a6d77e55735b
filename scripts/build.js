// Builds the CLI into dist/<id>/ with esbuild and records its inputs in dist/manifest.json, which
// bin/kiln.js checks at every start. Usage: node scripts/build.js [--force] [--prune-all]
//
// esbuild rather than tsc: it builds in well under a second (tsc: about 15 s of CPU here), so the
// test and demo scripts can build every time the sources changed, and the bundle starts as fast.
// Dependencies stay external (node_modules), except the few pure-JavaScript ones that `kiln lint`
// and help load (see `bundled`); each command is its own chunk, loaded on demand.
//
// Each build gets its own folder, named by its content, and the manifest names the current one:
// a kiln process started from an older build keeps its files while another engineer rebuilds.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  cp,
  mkdir,
  readdir,
  readFile,
  rename,
  rm,
  stat,
  utimes,
  writeFile,
} from 'node:fs/promises';
import { build } from 'esbuild';
import {
  buildInUse,
  currentBuild,
  inputState,
  manifestFile,
  readManifest,
  root,
} from '../bin/dist-state.js';

const args = new Set(process.argv.slice(2));
const dist = `${root}dist/`;
/** Builds other than the current one are removed once they are this old and no live kiln uses them. */
const keepOldMs = 10 * 60_000;
/**
 * Files read by the build besides the bundle's own inputs; a change to them means a rebuild. The
 * lockfiles stand for the bundled dependencies' files: npm rewrites node_modules/.package-lock.json
 * at every install, so the start-up check stats two files instead of a few hundred.
 */
const configInputs = [
  'package.json',
  'tsconfig.json',
  'scripts/build.js',
  ...['package-lock.json', 'node_modules/.package-lock.json'].filter((f) => inputState(f)),
];
/** Read at run time relative to the code (src/api/assets.ts), so copied beside the chunks. */
const assetsDir = 'src/api/assets';

/**
 * Pure-JavaScript dependencies of help and `kiln lint`, bundled into the chunks: node then reads
 * and compiles one file where it resolved and loaded about 220 (zod alone is 95 modules), and the
 * CommonJS ones (yaml, semver, commander) skip the CommonJS loader. Everything else stays external.
 */
const bundled = ['zod', 'yaml', 'semver', 'commander'];
const packageJson = JSON.parse(await readFile(`${root}package.json`, 'utf8'));
const externals = Object.keys({ ...packageJson.dependencies, ...packageJson.devDependencies })
  .filter((name) => !bundled.includes(name))
  .flatMap((name) => [name, `${name}/*`]);
/** Bundled CommonJS calls require() for node's built-ins; an ES module has none of its own. */
const requireBanner =
  "import { createRequire as kilnCreateRequire } from 'node:module'; const require = kilnCreateRequire(import.meta.url);";

async function main() {
  if (!args.has('--force') && currentBuild()) {
    if (args.has('--prune-all')) await prune(readManifest().build, 0);
    return;
  }
  const started = performance.now();
  for (let attempt = 1; ; attempt++) {
    const result = await buildOnce();
    if (result) {
      await prune(result.id, args.has('--prune-all') ? 0 : keepOldMs);
      const ms = Math.round(performance.now() - started);
      process.stderr.write(`kiln build: dist/${result.id} in ${ms} ms\n`);
      return;
    }
    if (attempt === 3) {
      process.stderr.write(
        'kiln build: sources kept changing during the build; dist/ not updated\n',
      );
      process.exitCode = 1;
      return;
    }
  }
}

/** One build into a fresh folder; undefined when an input changed while it ran. */
async function buildOnce() {
  const startedAt = Date.now();
  const tmp = `${dist}.tmp-${process.pid}-${startedAt}/`;
  await mkdir(tmp, { recursive: true });
  try {
    const { metafile } = await build({
      absWorkingDir: root,
      // The workers' processor files are entries too: BullMQ forks a child that imports one by path.
      entryPoints: {
        cli: 'src/cli.ts',
        commands: 'src/cli/commands.ts',
        'worker-build': 'workers/build.ts',
        'worker-publish': 'workers/publish.ts',
      },
      outdir: tmp,
      // Flat: every chunk sits beside cli.js, so `new URL('./assets/…', import.meta.url)` in any
      // of them finds the copied assets.
      entryNames: '[name]',
      chunkNames: '[name]-[hash]',
      bundle: true,
      splitting: true,
      format: 'esm',
      platform: 'node',
      target: 'node20.18',
      external: externals,
      banner: { js: requireBanner },
      // Error classes set `this.name = new.target.name`; bundling must not rename them.
      keepNames: true,
      metafile: true,
      logLevel: 'warning',
    });
    await cp(`${root}${assetsDir}`, `${tmp}assets`, { recursive: true });
    await writeFile(`${tmp}commands.json`, `${describeCommands(tmp)}\n`);

    const assets = (await readdir(`${root}${assetsDir}`)).map((f) => `${assetsDir}/${f}`);
    // A bundled dependency's files are covered by the lockfiles in configInputs.
    const sources = Object.keys(metafile.inputs).filter((f) => !f.includes('node_modules/'));
    const files = [...sources, ...assets, ...configInputs].sort();
    const inputs = {};
    for (const file of files) {
      const state = inputState(file);
      // An input written after the build began may have been read half-way: build again. The
      // margin covers file systems whose timestamps lag the clock by a tick.
      if (state === undefined || Number(state.split(':')[1]) > startedAt - 50) return undefined;
      inputs[file] = state;
    }

    const id = await contentId(tmp);
    const target = `${dist}${id}`;
    if (await exists(target)) await rm(tmp, { recursive: true, force: true });
    else await rename(tmp, target);
    const previous = readManifest()?.build;
    const manifest = { format: 1, build: id, builtAt: new Date().toISOString(), inputs };
    const partial = `${manifestFile}.${process.pid}`;
    await writeFile(partial, `${JSON.stringify(manifest, null, 2)}\n`);
    await rename(partial, manifestFile);
    // The superseded build's age now counts from here: see prune().
    if (previous && previous !== id)
      await utimes(`${dist}${previous}`, new Date(), new Date()).catch(() => {});
    return { id };
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

/** The command table the built cli.js shows for help, taken from the build itself. */
function describeCommands(dir) {
  const script = `const m = await import(${JSON.stringify(`${dir}commands.js`)});
process.stdout.write(JSON.stringify(await m.describeCommands(), null, 2));`;
  return execFileSync(process.execPath, ['--input-type=module', '-e', script], {
    cwd: root,
    env: { ...process.env, KILN_LOG_LEVEL: 'silent' },
    encoding: 'utf8',
  });
}

/** sha256 over every output file's name and bytes, shortened: the build folder's name. */
async function contentId(dir) {
  const hash = createHash('sha256');
  const names = (await readdir(dir, { recursive: true })).sort();
  for (const name of names) {
    const path = `${dir}${name}`;
    if (!(await stat(path)).isFile()) continue;
    hash.update(`${name}\0`).update(await readFile(path));
  }
  return `b-${hash.digest('hex').slice(0, 12)}`;
}

/**
 * Removes builds other than `current` superseded more than `ageMs` ago, and abandoned temporary
 * folders. A kiln process reads its build's files only while it starts (the API's assets are read
 * once, at start-up), so minutes are plenty.
 */
async function prune(current, ageMs) {
  for (const entry of await readdir(dist, { withFileTypes: true })) {
    if (!entry.isDirectory() || entry.name === current) continue;
    const path = `${dist}${entry.name}`;
    const age = Date.now() - (await stat(path)).mtimeMs;
    const isTmp = entry.name.startsWith('.tmp-');
    // A build a running kiln still uses stays, however old: it may load a chunk at any time.
    if (!isTmp && buildInUse(`${path}/`)) continue;
    if (age >= (isTmp ? keepOldMs : ageMs)) await rm(path, { recursive: true, force: true });
  }
}

async function exists(path) {
  return stat(path).then(
    () => true,
    () => false,
  );
}

await main();
