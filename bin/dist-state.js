// Decides whether dist/ holds a build of the sources as they are now. Shared by bin/kiln.js (at
// every start, so it stats the build's inputs and reads no source file) and scripts/build.js.
import { mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The package root (the folder holding bin/, src/ and dist/). */
export const root = fileURLToPath(new URL('..', import.meta.url));

export const manifestFile = `${root}dist/manifest.json`;

/**
 * What a build records about one input file: its size and modification time. An edit changes
 * at least the time; a deleted input fails the stat. A file no input imports cannot matter.
 */
export function inputState(relative) {
  const s = statSync(root + relative, { throwIfNoEntry: false });
  return s ? `${s.size}:${s.mtimeMs}` : undefined;
}

/** The manifest of the last build, or undefined if there is none (or it is unreadable). */
export function readManifest() {
  try {
    return JSON.parse(readFileSync(manifestFile, 'utf8'));
  } catch {
    return undefined;
  }
}

/**
 * The folder of the current build (absolute, with a trailing slash), or undefined when dist/ is
 * missing or any of its inputs changed since. Without src/ (an installed package) the build is
 * all there is, so it is current.
 */
export function currentBuild(manifest = readManifest()) {
  if (!manifest || manifest.format !== 1 || typeof manifest.build !== 'string') return undefined;
  const dir = `${root}dist/${manifest.build}/`;
  if (!statSync(`${dir}cli.js`, { throwIfNoEntry: false })) return undefined;
  if (!statSync(`${root}src/cli.ts`, { throwIfNoEntry: false })) return dir;
  for (const [file, state] of Object.entries(manifest.inputs ?? {})) {
    if (inputState(file) !== state) return undefined;
  }
  return dir;
}

/**
 * Marks a build folder as in use by this process (`<build>.users/<pid>`, removed at exit), so a
 * rebuild never deletes the chunks a long-running `kiln up` or worker still loads on demand (a
 * failure path's module, a sandboxed job's processor). Best effort: an installed package may sit
 * in a read-only folder, and there no rebuild happens anyway.
 */
export function holdBuild(build) {
  const mark = `${build}${usersDir}/${process.pid}`;
  try {
    mkdirSync(`${build}${usersDir}`, { recursive: true });
    writeFileSync(mark, '');
    process.on('exit', () => rmSync(mark, { force: true }));
  } catch {
    // read-only install: nothing will prune it
  }
}

/** Whether a live process still uses this build folder (see holdBuild). */
export function buildInUse(build) {
  let pids;
  try {
    pids = readdirSync(`${build}${usersDir}`);
  } catch {
    return false;
  }
  return pids.some((name) => {
    const pid = Number(name);
    if (!Number.isSafeInteger(pid) || pid <= 0) return false;
    try {
      process.kill(pid, 0);
      return true;
    } catch (error) {
      return error.code === 'EPERM';
    }
  });
}

const usersDir = '.users';
